// Package g711 converts between 16-bit linear samples and G.711 code words
// (ITU-T G.711): μ-law (PCMU) and A-law (PCMA).
package g711

// ULaw encodes a linear sample as μ-law (ITU-T G.711 §3, Table 2): clip
// to 32635, add the bias 0x84, take the segment from the highest set bit
// and four bits of step, invert.
func ULaw(x int16) byte {
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

// ULawLinear returns the linear value of a μ-law code word (ITU-T G.711
// §3, Table 2a): the word is stored inverted; its bits are sign, a 3-bit
// segment and a 4-bit step, and the magnitude is ((2·step + 33) <<
// segment) − 33, here scaled by 4 to 16 bits, so the result lies in ±32124.
func ULawLinear(u byte) int16 {
	u = ^u
	segment := (u >> 4) & 0x07
	step := int32(u & 0x0f)
	magnitude := ((step<<3 + 0x84) << segment) - 0x84
	if u&0x80 != 0 {
		return int16(-magnitude)
	}
	return int16(magnitude)
}

// ALaw encodes a linear sample as A-law (ITU-T G.711 §2, Table 1): the 13
// high bits, a 3-bit segment and 4-bit step, even bits inverted.
func ALaw(x int16) byte {
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

// ALawLinear returns the linear value of an A-law code word (ITU-T G.711
// §2, Table 1a), the middle of its step.
func ALawLinear(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0f) << 4
	switch seg := int(a&0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t = (t + 0x108) << (seg - 1)
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}
