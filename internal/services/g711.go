package services

import (
	"math"

	"github.com/switchboard-gw/switchboard/internal/media/g711"
)

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
			frames[pcmu][f][i] = g711.ULaw(x)
			frames[pcma][f][i] = g711.ALaw(x)
		}
	}
	return frames
}
