package codec_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/quenchhq/quench/internal/codec"
)

func keyOf(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

func mustParse(t *testing.T, list string) *codec.Codec {
	t.Helper()
	c, err := codec.Parse("test", list)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const canary = "canary-7d1f-secret-label"

func plainPayload(t *testing.T) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"label": canary})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEncodeSealsUnderTheFirstKeyAndNamesIt(t *testing.T) {
	c := mustParse(t, "k2:"+keyOf(2)+", k1:"+keyOf(1))
	in := plainPayload(t)
	enc, err := c.Encode([]*commonpb.Payload{in})
	if err != nil {
		t.Fatal(err)
	}
	got := enc[0]
	if e := string(got.Metadata[converter.MetadataEncoding]); e != codec.MetadataEncoding {
		t.Errorf("encoding %q, want %q", e, codec.MetadataEncoding)
	}
	if id := string(got.Metadata[codec.MetadataKeyID]); id != "k2" {
		t.Errorf("key id %q, want k2 (the first listed)", id)
	}
	if bytes.Contains(got.Data, []byte(canary)) || bytes.Contains(got.Data, []byte("json/plain")) {
		t.Error("ciphertext holds the plaintext")
	}
	// Two encodings of the same payload differ (fresh nonce).
	again, _ := c.Encode([]*commonpb.Payload{in})
	if bytes.Equal(again[0].Data, got.Data) {
		t.Error("same ciphertext twice: nonce reused")
	}
	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := converter.GetDefaultDataConverter().FromPayload(dec[0], &m); err != nil || m["label"] != canary {
		t.Errorf("round trip: %v %v", m, err)
	}
}

func TestRotationDecryptsWithAnyListedKey(t *testing.T) {
	old := mustParse(t, "k1:"+keyOf(1))
	enc, err := old.Encode([]*commonpb.Payload{plainPayload(t)})
	if err != nil {
		t.Fatal(err)
	}
	rotated := mustParse(t, "k2:"+keyOf(2)+"\nk1:"+keyOf(1))
	if _, err := rotated.Decode(enc); err != nil {
		t.Fatalf("rotated keys do not read the old history: %v", err)
	}
	if rotated.KeyID() != "k2" {
		t.Errorf("encrypting key %s, want k2", rotated.KeyID())
	}
}

func TestDecodeErrorsNameTheKeyID(t *testing.T) {
	enc, err := mustParse(t, "k1:"+keyOf(1)).Encode([]*commonpb.Payload{plainPayload(t)})
	if err != nil {
		t.Fatal(err)
	}
	tampered := &commonpb.Payload{Metadata: enc[0].Metadata, Data: append([]byte(nil), enc[0].Data...)}
	tampered.Data[len(tampered.Data)-1] ^= 1
	relabelled := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte(codec.MetadataEncoding), codec.MetadataKeyID: []byte("k9")}, Data: enc[0].Data}
	for _, tc := range []struct {
		name     string
		keys     string
		in       *commonpb.Payload
		sentinel error
		want     string
	}{
		{"key missing", "k2:" + keyOf(2), enc[0], codec.ErrUnknownKey, `key id "k1"`},
		{"same id, other material", "k1:" + keyOf(3), enc[0], codec.ErrDecrypt, `key id "k1"`},
		{"altered ciphertext", "k1:" + keyOf(1), tampered, codec.ErrDecrypt, `key id "k1"`},
		{"relabelled to another key", "k9:" + keyOf(1), relabelled, codec.ErrDecrypt, `key id "k9"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mustParse(t, tc.keys).Decode([]*commonpb.Payload{tc.in})
			if !errors.Is(err, tc.sentinel) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %v naming %s", err, tc.sentinel, tc.want)
			}
		})
	}
}

func TestDecodePassesPlaintextThrough(t *testing.T) {
	in := plainPayload(t)
	out, err := mustParse(t, "k1:"+keyOf(1)).Decode([]*commonpb.Payload{in})
	if err != nil || out[0] != in {
		t.Errorf("plaintext payload (history from before encryption) not passed through: %v", err)
	}
}

func TestParseRefusesBadKeyLists(t *testing.T) {
	short := base64.StdEncoding.EncodeToString([]byte("sixteen bytes!!!"))
	for _, tc := range []struct{ list, want string }{
		{"", "no keys"},
		{"# only a comment\n", "no keys"},
		{keyOf(1), "has no ':'"},
		{"k1:" + short, `key "k1" is 16 bytes; AES-256 needs 32`},
		{"k1:not*base64", `key "k1" is not base64`},
		{"k1:" + keyOf(1) + ",k1:" + keyOf(2), `key id "k1" is listed twice`},
		{"bad/id:" + keyOf(1), `key id "bad/id"`},
	} {
		_, err := codec.Parse("QUENCH_CODEC_KEYS", tc.list)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "QUENCH_CODEC_KEYS") {
			t.Errorf("Parse(%q) = %v, want an error saying %q", tc.list, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), keyOf(1)) {
			t.Errorf("error echoes key material: %v", err)
		}
	}
	if _, err := codec.Parse("x", "k1:"+strings.TrimRight(base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)), "=")); err != nil {
		t.Errorf("unpadded URL-safe base64 refused: %v", err)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(codec.EnvKeys, "")
	t.Setenv(codec.EnvKeysFile, "")
	if c, err := codec.FromEnv(); c != nil || err != nil {
		t.Errorf("unset: %v %v, want nil, nil (plaintext)", c, err)
	}
	file := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(file, []byte("# rotated 2026-11\nnew:"+keyOf(2)+"\nold:"+keyOf(1)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(codec.EnvKeysFile, file)
	c, err := codec.FromEnv()
	if err != nil || strings.Join(c.KeyIDs(), ",") != "new,old" {
		t.Fatalf("from file: %v %v", c, err)
	}
	t.Setenv(codec.EnvKeys, "k1:"+keyOf(1))
	if _, err := codec.FromEnv(); err == nil || !strings.Contains(err.Error(), "both QUENCH_CODEC_KEYS and QUENCH_CODEC_KEYS_FILE") {
		t.Errorf("both set: %v", err)
	}
}

func TestFailureMessagesAreEncrypted(t *testing.T) {
	c := mustParse(t, "k1:"+keyOf(1))
	fc := codec.FailureConverter(c)
	f := fc.ErrorToFailure(temporal.NewApplicationError("revoke sessions of role "+canary, "AccessDenied"))
	raw, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(canary)) {
		t.Error("failure message in clear")
	}
	if back := fc.FailureToError(f); !strings.Contains(back.Error(), canary) {
		t.Errorf("failure does not decode: %v", back)
	}
}

func TestReadingEncryptedPayloadsWithoutKeysNamesTheSetting(t *testing.T) {
	c, err := codec.Parse("test", "k2:"+keyOf(2))
	if err != nil {
		t.Fatal(err)
	}
	p, err := codec.DataConverter(c).ToPayload("canary-secret")
	if err != nil {
		t.Fatal(err)
	}
	var got string
	err = codec.DataConverter(nil).FromPayload(p, &got)
	if !errors.Is(err, codec.ErrUnknownKey) || !strings.Contains(err.Error(), `key id "k2"`) || !strings.Contains(err.Error(), codec.EnvKeys) {
		t.Errorf("decode without keys: %v; want an error naming key k2 and %s", err, codec.EnvKeys)
	}
	// Plaintext still round-trips without keys.
	plain, err := codec.DataConverter(nil).ToPayload("hello")
	if err != nil {
		t.Fatal(err)
	}
	if err := codec.DataConverter(nil).FromPayload(plain, &got); err != nil || got != "hello" {
		t.Errorf("plaintext without keys: %q, %v", got, err)
	}
	if string(plain.GetMetadata()[converter.MetadataEncoding]) == codec.MetadataEncoding {
		t.Error("a process without keys wrote an encrypted payload")
	}
}
