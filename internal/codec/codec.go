package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/quenchhq/quench/internal/secret"
)

// Environment variables the keys come from: a list of id:base64key,
// separated by commas or white space; in a file, lines starting with # are
// comments. The FIRST key encrypts; every listed key decrypts. To rotate,
// put a new key first and keep the old ones until no history that needs
// them is retained.
const (
	EnvKeys     = "QUENCH_CODEC_KEYS"
	EnvKeysFile = EnvKeys + "_FILE"
)

// Payload metadata of an encrypted payload.
const (
	// MetadataEncoding is the value of the "encoding" metadata field.
	MetadataEncoding = "binary/encrypted"
	// MetadataKeyID names the key that sealed the payload.
	MetadataKeyID = "encryption-key-id"
)

// ErrUnknownKey says an encrypted payload names a key id this process was
// not given; ErrDecrypt says the key with that id did not open it.
var (
	ErrUnknownKey = errors.New("unknown encryption key")
	ErrDecrypt    = errors.New("payload does not decrypt")
)

// keyID is what an id may look like: it is written in clear into every
// payload's metadata and printed in errors.
var keyID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

type key struct {
	id   string
	aead cipher.AEAD
}

// Codec is a converter.PayloadCodec sealing payloads with AES-256-GCM.
type Codec struct {
	keys []key // keys[0] encrypts
}

var _ converter.PayloadCodec = (*Codec)(nil)

// Parse reads a key list: id:base64key entries (32 bytes each once
// decoded), separated by commas or white space, lines starting with # left
// out. source names where the list came from, for errors; key material is
// never echoed.
func Parse(source, list string) (*Codec, error) {
	var fields []string
	for _, line := range strings.Split(list, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		fields = append(fields, strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' })...)
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("codec keys from %s: no keys (want id:base64key, 32 bytes each; generate one with: head -c 32 /dev/urandom | base64)", source)
	}
	c := &Codec{}
	for i, f := range fields {
		id, b64, ok := strings.Cut(f, ":")
		if !ok {
			return nil, fmt.Errorf("codec keys from %s: entry %d has no ':' (want id:base64key)", source, i+1)
		}
		if !keyID.MatchString(id) {
			return nil, fmt.Errorf("codec keys from %s: entry %d: key id %q: want 1-64 of A-Z a-z 0-9 . _ -", source, i+1, id)
		}
		if c.aead(id) != nil {
			return nil, fmt.Errorf("codec keys from %s: key id %q is listed twice", source, id)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			if raw, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(b64, "=")); err != nil {
				return nil, fmt.Errorf("codec keys from %s: key %q is not base64", source, id)
			}
		}
		if len(raw) != 32 {
			return nil, fmt.Errorf("codec keys from %s: key %q is %d bytes; AES-256 needs 32 (generate one with: head -c 32 /dev/urandom | base64)", source, id, len(raw))
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("codec keys from %s: key %q: %w", source, id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("codec keys from %s: key %q: %w", source, id, err)
		}
		c.keys = append(c.keys, key{id: id, aead: aead})
	}
	return c, nil
}

// FromEnv reads the keys from QUENCH_CODEC_KEYS or the file
// QUENCH_CODEC_KEYS_FILE names. It returns nil, nil when neither is set:
// payloads then stay plaintext.
func FromEnv() (*Codec, error) {
	list, source, err := secret.FromEnv(EnvKeys)
	if err != nil || list == "" {
		return nil, err
	}
	return Parse(source, list)
}

// AuthTokenFromEnv reads the codec endpoint's bearer token from
// QUENCH_CODEC_AUTH_TOKEN or the file QUENCH_CODEC_AUTH_TOKEN_FILE names;
// empty when neither is set.
func AuthTokenFromEnv() (string, error) {
	tok, _, err := secret.FromEnv(EnvAuthToken)
	return tok, err
}

// KeyID is the id of the key that encrypts.
func (c *Codec) KeyID() string { return c.keys[0].id }

// KeyIDs lists every key id, the encrypting one first.
func (c *Codec) KeyIDs() []string {
	ids := make([]string, len(c.keys))
	for i, k := range c.keys {
		ids[i] = k.id
	}
	return ids
}

func (c *Codec) aead(id string) cipher.AEAD {
	i := slices.IndexFunc(c.keys, func(k key) bool { return k.id == id })
	if i < 0 {
		return nil
	}
	return c.keys[i].aead
}

// Encode seals each payload, metadata and all, under the first key. The
// key id is authenticated too (additional data), so relabelling a payload
// with another id makes it fail to open rather than decrypt wrongly.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	k := c.keys[0]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encrypt payload: %w", err)
		}
		nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("encrypt payload: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(MetadataEncoding),
				MetadataKeyID:              []byte(k.id),
			},
			Data: k.aead.Seal(nonce, nonce, plain, []byte(k.id)),
		}
	}
	return out, nil
}

// Decode opens encrypted payloads with the key their metadata names and
// passes every other payload through unchanged: histories written before
// encryption was switched on stay readable.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != MetadataEncoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead := c.aead(id)
		if aead == nil {
			return nil, fmt.Errorf("decrypt payload: key id %q: %w (this process has %s in %s; add the key that wrote this history)",
				id, ErrUnknownKey, strings.Join(c.KeyIDs(), ", "), EnvKeys)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize() {
			return nil, fmt.Errorf("decrypt payload with key id %q: %w: %d bytes is shorter than a nonce", id, ErrDecrypt, len(data))
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("decrypt payload with key id %q: %w (wrong key material for this id, or the payload was altered)", id, ErrDecrypt)
		}
		var inner commonpb.Payload
		if err := proto.Unmarshal(plain, &inner); err != nil {
			return nil, fmt.Errorf("decrypt payload with key id %q: decrypted bytes are not a payload: %w", id, err)
		}
		out[i] = &inner
	}
	return out, nil
}

// DataConverter is the SDK's default converter with c applied to every
// payload. With a nil c payloads are written in plaintext, and an
// encrypted one read without keys fails naming the key and QUENCH_CODEC_KEYS
// instead of the SDK's "payload encoding is not supported".
func DataConverter(c *Codec) converter.DataConverter {
	if c == nil {
		return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), noKeys{})
	}
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// noKeys is the codec of a process without keys: plaintext out, and a
// clear refusal for encrypted payloads in.
type noKeys struct{}

func (noKeys) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) { return payloads, nil }

func (noKeys) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	for _, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) == MetadataEncoding {
			return nil, fmt.Errorf("decrypt payload: it is encrypted with key id %q and this process has no keys: set %s (or %s) to the keys the workers use: %w",
				string(p.GetMetadata()[MetadataKeyID]), EnvKeys, EnvKeysFile, ErrUnknownKey)
		}
	}
	return payloads, nil
}

// FailureConverter moves failure messages and stack traces into an
// encoded payload: an activity error often names what it acted on (a
// role, a key id), and the default converter writes messages in clear.
// With a nil c, the SDK's default.
func FailureConverter(c *Codec) converter.FailureConverter {
	if c == nil {
		return temporal.GetDefaultFailureConverter()
	}
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          DataConverter(c),
		EncodeCommonAttributes: true,
	})
}
