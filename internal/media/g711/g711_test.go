package g711

import "testing"

// ulawEncode is the μ-law encoder (ITU-T G.711 §3, Table 2a) written a
// second time, independently of ULaw, so that the tests check one against
// the other.
func ulawEncode(x int16) byte {
	const bias, clip = 0x84, 32635
	v := int32(x)
	sign := byte(0)
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, clip) + bias
	segment := byte(7)
	for mask := int32(0x4000); v&mask == 0 && segment > 0; mask >>= 1 {
		segment--
	}
	step := byte(v>>(segment+3)) & 0x0f
	return ^(sign | segment<<4 | step)
}

func TestULaw(t *testing.T) {
	for x := -32768; x <= 32767; x++ {
		if got, want := ULaw(int16(x)), ulawEncode(int16(x)); got != want {
			t.Fatalf("ULaw(%d): got %#x, want %#x", x, got, want)
		}
	}
}

func TestULawLinear(t *testing.T) {
	tests := []struct {
		name string
		in   byte
		want int16
	}{
		{name: "positive zero", in: 0xff, want: 0},
		{name: "negative zero", in: 0x7f, want: 0},
		{name: "positive full scale", in: 0x80, want: 32124},
		{name: "negative full scale", in: 0x00, want: -32124},
		{name: "segment 0 step 15", in: 0xf0, want: 120},
		{name: "segment 1 step 0", in: 0xef, want: 132},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ULawLinear(tt.in); got != tt.want {
				t.Errorf("ULawLinear(%#02x) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestULawRoundTrip(t *testing.T) {
	for u := range 256 {
		x := ULawLinear(byte(u))
		if got := ULawLinear(ulawEncode(x)); got != x {
			t.Errorf("decode(encode(decode(%#02x) = %d)) = %d, want %d", u, x, got, x)
		}
	}
}

func TestALawRoundTrip(t *testing.T) {
	for x := -32768; x <= 32767; x++ {
		if got := int(ALawLinear(ALaw(int16(x)))); abs(got-x) > max(16, abs(x)/16) {
			t.Fatalf("ALaw(%d) decodes to %d", x, got)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
