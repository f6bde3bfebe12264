package loadgen

import (
	"crypto/rand"
	"encoding/binary"
)

func randomUint32() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}
