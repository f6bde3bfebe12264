package rtptest

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/media/g711"
)

// pcmuTone returns seconds of a sine at freqHz and amplitude amp (0..1),
// μ-law encoded.
func pcmuTone(freqHz, amp, seconds float64) []byte {
	b := make([]byte, int(seconds*SampleRate))
	for i := range b {
		x := amp * math.MaxInt16 * math.Sin(2*math.Pi*freqHz*float64(i)/SampleRate)
		b[i] = g711.ULaw(int16(x))
	}
	return b
}

func TestDetectTone(t *testing.T) {
	tests := []struct {
		name     string
		pcmu     []byte
		freqHz   float64
		min, max float64
	}{
		{name: "1000 Hz tone at 1000 Hz", pcmu: pcmuTone(1000, 0.25, 1), freqHz: 1000, min: 0.95, max: 1.05},
		{name: "quiet 440 Hz tone at 440 Hz", pcmu: pcmuTone(440, 0.01, 0.5), freqHz: 440, min: 0.9, max: 1.1},
		{name: "1000 Hz tone at 1500 Hz", pcmu: pcmuTone(1000, 0.25, 1), freqHz: 1500, max: 0.01},
		{name: "1000 Hz tone at 1020 Hz", pcmu: pcmuTone(1000, 0.25, 1), freqHz: 1020, max: 0.01},
		{name: "silence", pcmu: pcmuTone(0, 0, 1), freqHz: 1000, max: 0},
		{name: "empty", pcmu: nil, freqHz: 1000, max: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DetectTone(tt.pcmu, tt.freqHz); got < tt.min || got > tt.max {
				t.Errorf("DetectTone(%.0f Hz) = %.4f, want in [%g, %g]", tt.freqHz, got, tt.min, tt.max)
			}
		})
	}
}

func TestToneDetectorPacketByPacket(t *testing.T) {
	pcmu := pcmuTone(1000, 0.25, 1)
	d := NewToneDetector(1000)
	for p := pcmu; len(p) > 0; p = p[160:] { // 20 ms packets
		d.Add(p[:160])
	}
	if got, want := d.Score(), DetectTone(pcmu, 1000); got != want {
		t.Errorf("Score after 50 packets = %v, want %v (DetectTone on the whole)", got, want)
	}
}

func TestToneWAVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tone.wav")
	if err := WriteToneWAV(path, 1000, 0.5); err != nil {
		t.Fatal(err)
	}
	samples, err := ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(samples), 4000; got != want {
		t.Errorf("read %d samples, want %d", got, want)
	}
	if got := DetectTonePCM(samples, 1000); got < 0.95 {
		t.Errorf("DetectTonePCM(1000 Hz) = %.4f, want ≥ 0.95", got)
	}
	if got := DetectTonePCM(samples, 2000); got > 0.01 {
		t.Errorf("DetectTonePCM(2000 Hz) = %.4f, want ≤ 0.01", got)
	}
}

func TestReadWAVUnfinished(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dump.wav")
	if err := WriteWAV(path, []int16{1, -2, 3}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	clear(b[40:44]) // data length 0, as a writer that has not closed yet leaves it
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	samples, err := ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(samples), 3; got != want || samples[1] != -2 {
		t.Errorf("read %v, want 3 samples [1 -2 3]", samples)
	}
}

func TestReadWAVRejects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.wav")
	if err := os.WriteFile(path, []byte("RIFF\x04\x00\x00\x00WAVE"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadWAV(path); !errors.Is(err, errNotWAV) {
		t.Errorf("ReadWAV(no chunks) error = %v, want errNotWAV", err)
	}
}

func TestToneFramesAreDetected(t *testing.T) {
	d := NewToneDetector(440)
	for _, f := range ToneFrames(440, 50) {
		d.Add(f)
	}
	if got := d.Score(); got < 0.9 {
		t.Errorf("440 Hz frames at 440 Hz: score %.3f, want ≥ 0.9", got)
	}
	if got := DetectTone(ToneFrames(440, 50)[0], 1000); got > 0.05 {
		t.Errorf("440 Hz frame at 1000 Hz: score %.3f, want ≤ 0.05", got)
	}
}
