package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunRejectsBadArguments(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantOut string
	}{
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"udp without port", []string{"-udp", "127.0.0.1"}, "-udp"},
		{"pid not a number", []string{"-pid", "12,x"}, "-pid"},
		{"unknown mode", []string{"-mode", "flood"}, "-mode"},
		{"junk without port", []string{"-junk", "127.0.0.1"}, "-junk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if got := run(context.Background(), tt.args, &out, &out); got != 2 {
				t.Errorf("exit code: got %d, want 2\n%s", got, out.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output: got %q, want it to contain %q", out.String(), tt.wantOut)
			}
		})
	}
}
