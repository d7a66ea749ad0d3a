package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The readers face files from packages that may change; whatever the
// bytes, they return data or an error, never panic or run away.

func addFixtures(f *testing.F, names ...string) {
	f.Helper()
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzReadRSerialized(f *testing.F) {
	for _, name := range []string{"r/Rdata.rds", "r/Rd.rds", "r/package.rds"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		raw, err := decompressAny(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		readRSerialized(data)
	})
}

func FuzzParseLazyLoadDB(f *testing.F) {
	idx, err := os.ReadFile("testdata/r/Rdata.rdx")
	if err != nil {
		f.Fatal(err)
	}
	addFixtures(f, "r/Rdata.rdb")
	f.Fuzz(func(t *testing.T, db []byte) {
		parseLazyLoadDB(idx, db)
	})
}

func FuzzReadBRS(f *testing.F) {
	addFixtures(f, "bible.data")
	f.Fuzz(func(t *testing.T, data []byte) {
		readBRS(data)
	})
}

func FuzzUnLZW(f *testing.F) {
	addFixtures(f, "lzw/genesis-10.Z", "lzw/genesis-16.Z")
	f.Fuzz(func(t *testing.T, z []byte) {
		if len(z) < 3 {
			return
		}
		unLZW(z[3:], int(z[2]&0x1F), 1<<16)
	})
}
