package services

import "math"

// The tone: 440 Hz (concert A) at a quarter of full scale, in 20 ms frames
// of 8 kHz G.711.
const (
	toneHz        = 440
	toneAmplitude = 0.25 * math.MaxInt16
	sampleRate    = 8000
	frameSamples  = sampleRate / 50 // 20 ms
	// toneFrameCount frames hold a whole number of periods (440 Hz × 100 ms
	// = 44), so that cycling through them keeps the phase continuous.
	toneFrameCount = 5
)

// toneFrames are the tone's frames in each law, computed once: sending one
// is a copy.
var toneFrames = makeToneFrames()

func makeToneFrames() (frames [2][toneFrameCount][frameSamples]byte) {
	for f := range toneFrameCount {
		for i := range frameSamples {
			n := f*frameSamples + i
			x := int16(toneAmplitude * math.Sin(2*math.Pi*toneHz*float64(n)/sampleRate))
			frames[pcmu][f][i] = ulaw(x)
			frames[pcma][f][i] = alaw(x)
		}
	}
	return frames
}

// ulaw encodes a linear sample as G.711 μ-law (ITU-T G.711 §3, Table 2).
func ulaw(x int16) byte {
	const bias, clip = 0x84, 32635
	v, sign := int(x), 0
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, clip) + bias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	return ^byte(sign | exp<<4 | (v>>(exp+3))&0x0f)
}

// alaw encodes a linear sample as G.711 A-law (ITU-T G.711 §2, Table 1):
// the 13 high bits, a 3-bit segment and 4-bit step, even bits inverted.
func alaw(x int16) byte {
	v := int(x) >> 3
	mask := byte(0xd5) // positive: sign bit set
	if v < 0 {
		v, mask = -v-1, 0x55
	}
	if v > 0xfff {
		return 0x7f ^ mask
	}
	seg := 0
	for end := 0x1f; v > end; end = end<<1 | 1 {
		seg++
	}
	step := v >> 1
	if seg >= 2 {
		step = v >> seg
	}
	return (byte(seg<<4) | byte(step&0x0f)) ^ mask
}
