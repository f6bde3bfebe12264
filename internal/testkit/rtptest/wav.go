package rtptest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// errNotWAV reports a file that is not an 8 kHz mono 16-bit PCM WAV.
var errNotWAV = errors.New("not an 8 kHz mono 16-bit PCM WAV file")

// WriteWAV writes samples to path as an 8 kHz, mono, 16-bit PCM WAV file
// (a RIFF "WAVE" with one "fmt " and one "data" chunk).
func WriteWAV(path string, samples []int16) error {
	const header = 44
	dataLen := 2 * len(samples)
	b := make([]byte, header, header+dataLen)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(header-8+dataLen))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)           // fmt chunk size
	binary.LittleEndian.PutUint16(b[20:], 1)            // PCM
	binary.LittleEndian.PutUint16(b[22:], 1)            // channels
	binary.LittleEndian.PutUint32(b[24:], SampleRate)   // sample rate
	binary.LittleEndian.PutUint32(b[28:], 2*SampleRate) // byte rate
	binary.LittleEndian.PutUint16(b[32:], 2)            // block align
	binary.LittleEndian.PutUint16(b[34:], 16)           // bits per sample
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(dataLen))
	for _, s := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	return os.WriteFile(path, b, 0o644)
}

// ReadWAV reads the samples of an 8 kHz, mono, 16-bit PCM WAV file. It
// accepts a file still being written (baresip's sndfile dumps while a call
// runs): a data chunk whose length is 0 or runs past the end of the file is
// read to the end.
func ReadWAV(path string) ([]int16, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%s: %w", path, errNotWAV)
	}
	sawFmt := false
	for rest := b[12:]; len(rest) >= 8; {
		id, size := string(rest[0:4]), int(binary.LittleEndian.Uint32(rest[4:8]))
		body := rest[8:]
		if id == "data" {
			if !sawFmt {
				return nil, fmt.Errorf("%s: data before fmt: %w", path, errNotWAV)
			}
			if size == 0 || size > len(body) {
				size = len(body)
			}
			return pcm16(body[:size&^1]), nil
		}
		padded := size + size&1 // chunks are padded to even lengths
		if padded > len(body) {
			break
		}
		if id == "fmt " {
			if !isPCM8kMono16(body[:size]) {
				return nil, fmt.Errorf("%s: %w", path, errNotWAV)
			}
			sawFmt = true
		}
		rest = body[padded:]
	}
	return nil, fmt.Errorf("%s: no data chunk: %w", path, errNotWAV)
}

// isPCM8kMono16 reports whether a "fmt " chunk's body describes the one
// format ReadWAV reads.
func isPCM8kMono16(f []byte) bool {
	return len(f) >= 16 &&
		binary.LittleEndian.Uint16(f[0:]) == 1 && // PCM
		binary.LittleEndian.Uint16(f[2:]) == 1 && // mono
		binary.LittleEndian.Uint32(f[4:]) == SampleRate &&
		binary.LittleEndian.Uint16(f[14:]) == 16
}

func pcm16(b []byte) []int16 {
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s
}
