package rtptest

import (
	"math"

	"github.com/switchboard-gw/switchboard/internal/media/g711"
)

// SampleRate is the G.711 clock rate, in samples per second, that the tone
// helpers assume.
const SampleRate = 8000

// toneAmplitude is the peak of the sine WriteToneWAV writes: a quarter of
// full scale, loud enough to survive μ-law quantisation and far from
// clipping.
const toneAmplitude = 0.25 * math.MaxInt16

// WriteToneWAV writes seconds of a sine at freqHz to path as a WAV file:
// 8 kHz, 16-bit signed little-endian PCM, mono, the format baresip's aufile
// source plays into a PCMU call. A freqHz of 0 writes silence.
func WriteToneWAV(path string, freqHz, seconds float64) error {
	n := int(seconds * SampleRate)
	samples := make([]int16, n)
	for i := range samples {
		samples[i] = int16(toneAmplitude * math.Sin(2*math.Pi*freqHz*float64(i)/SampleRate))
	}
	return WriteWAV(path, samples)
}

// DetectTone decodes pcmu, a G.711 μ-law payload (or several concatenated),
// and returns how much of its power is at freqHz, from 0 to about 1: a pure
// tone at freqHz scores near 1; silence, noise or a tone at another frequency
// score near 0.
func DetectTone(pcmu []byte, freqHz float64) float64 {
	d := NewToneDetector(freqHz)
	d.Add(pcmu)
	return d.Score()
}

// DetectTonePCM is DetectTone for linear 16-bit samples at 8 kHz, such as a
// WAV file read with ReadWAV.
func DetectTonePCM(samples []int16, freqHz float64) float64 {
	d := NewToneDetector(freqHz)
	d.AddPCM(samples)
	return d.Score()
}

// ToneDetector measures the power at one frequency in a stream of 8 kHz
// audio fed to it packet by packet, with the Goertzel algorithm, so it keeps
// no samples. The zero value is not usable; call NewToneDetector. It is not
// safe for concurrent use.
type ToneDetector struct {
	coeff  float64 // 2·cos(2π·f/fs)
	s1, s2 float64 // the Goertzel filter's last two outputs
	energy float64 // Σ x², the total power of the input
	n      int     // samples fed
}

// NewToneDetector returns a detector for freqHz, which need not fall on a
// DFT bin.
func NewToneDetector(freqHz float64) *ToneDetector {
	return &ToneDetector{coeff: 2 * math.Cos(2*math.Pi*freqHz/SampleRate)}
}

// Add feeds one RTP payload of G.711 μ-law (PCMU) audio.
func (d *ToneDetector) Add(payload []byte) {
	for _, u := range payload {
		d.sample(float64(g711.ULawLinear(u)))
	}
}

// AddPCM feeds linear 16-bit samples.
func (d *ToneDetector) AddPCM(samples []int16) {
	for _, x := range samples {
		d.sample(float64(x))
	}
}

func (d *ToneDetector) sample(x float64) {
	s := x + d.coeff*d.s1 - d.s2
	d.s2, d.s1 = d.s1, s
	d.energy += x * x
	d.n++
}

// Score returns the share of the power fed so far that lies at the
// detector's frequency: 2·|X(f)|² / (N·Σx²), which is 1 for a sine at
// exactly f over a whole number of periods (Parseval: a sine of amplitude A
// has |X(f)|² = (AN/2)² and Σx² = A²N/2). It is 0 before any power was fed.
func (d *ToneDetector) Score() float64 {
	if d.n == 0 || d.energy == 0 {
		return 0
	}
	power := d.s1*d.s1 + d.s2*d.s2 - d.coeff*d.s1*d.s2
	return 2 * power / (float64(d.n) * d.energy)
}

// ToneFrames returns n 20 ms PCMU frames of a sine at freqHz, continuous
// across frames, at a moderate level.
func ToneFrames(freqHz float64, n int) [][]byte {
	frames := make([][]byte, n)
	for f := range frames {
		frame := make([]byte, 160)
		for i := range frame {
			t := float64(f*160+i) / 8000
			frame[i] = g711.ULaw(int16(8000 * math.Sin(2*math.Pi*freqHz*t)))
		}
		frames[f] = frame
	}
	return frames
}
