// Command tlogcheck checks a Sened hub's journal with an implementation that
// shares no code with the hub: Go's golang.org/x/mod/sumdb/note (signed
// notes) and golang.org/x/mod/sumdb/tlog (RFC 6962 hashing and proofs).
//
// It reads the log as C2SP tlog-tiles under <url>/journal/ and checks, in
// order, printing one line per check ("ok <check>: ..."):
//
//	checkpoint signature  the note opens with the given verifier key
//	checkpoint body       origin, tree size and root follow tlog-checkpoint
//	tree hash             tlog.TreeHash over the hash tiles equals the root
//	tile authentication   every tile hashes up to the root (tlog.TileHashReader
//	                      and a rebuild with tlog.StoredHashesForRecordHash)
//	entry bundles         each bundle entry hashes to its level-0 leaf
//	inclusion proof       the hub's proof for -index passes tlog.CheckRecord
//	consistency proof     the hub's proof from -from passes tlog.CheckTree
//
// The two proof checks need the hub's API (-api, with a participant's
// certificate: -cert, -key, -ca). The first failing check is printed as
// "FAIL <check>: <reason>" and the exit status is 1; bad arguments give 2.
//
// Build it offline in GOPATH mode against Debian's golang-golang-x-mod-dev
// (GO111MODULE=off GOPATH=<dir>:/usr/share/gocode go build).
package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// C2SP tiles are 2^8 = 256 hashes wide.
const tileHeight = 8
const tileWidth = 1 << tileHeight

// Longest wait for one HTTP exchange with the hub.
const fetchTimeout = 30 * time.Second

// failure is a check that did not pass.
type failure struct {
	check  string
	reason string
}

func fail(check, format string, args ...interface{}) *failure {
	return &failure{check, fmt.Sprintf(format, args...)}
}

func pass(check, format string, args ...interface{}) {
	fmt.Printf("ok %s: %s\n", check, fmt.Sprintf(format, args...))
}

// checkpoint is a parsed tlog-checkpoint body.
type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// Media types that tlog-tiles requires of the checkpoint and of tiles.
const noteType = "text/plain; charset=utf-8"
const tileType = "application/octet-stream"

// fetcher GETs paths under one URL prefix and remembers what it got.
type fetcher struct {
	client *http.Client
	prefix string
	cache  map[string][]byte
}

// get GETs path and fails unless the answer is 200 with Content-Type
// mediaType (any, when empty).
func (f *fetcher) get(path, mediaType string) ([]byte, error) {
	if data, ok := f.cache[path]; ok {
		return data, nil
	}
	resp, err := f.client.Get(f.prefix + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<24))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d: %s", path, resp.StatusCode,
			strings.TrimSpace(string(data)))
	}
	if got := resp.Header.Get("Content-Type"); mediaType != "" && got != mediaType {
		return nil, fmt.Errorf("GET %s: Content-Type %q, want %q", path, got, mediaType)
	}
	f.cache[path] = data
	return data, nil
}

// tileIndexPath writes n in 3-digit groups, all but the last prefixed with
// "x": 1234067 -> x001/x234/067. Written here rather than taken from
// tlog.Tile.Path, whose paths carry a height element that C2SP drops.
func tileIndexPath(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n /= 1000; n > 0; n /= 1000 {
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}

// tilePath is the C2SP path of a hash tile (level >= 0) or of an entry
// bundle (level -1).
func tilePath(level int, n int64, width int) string {
	kind := strconv.Itoa(level)
	if level < 0 {
		kind = "entries"
	}
	p := "tile/" + kind + "/" + tileIndexPath(n)
	if width < tileWidth {
		p += ".p/" + strconv.Itoa(width)
	}
	return p
}

// tileWidthAt is the width of tile n at `level` in a tree of `size` leaves
// (0 when the tree has no such tile).
func tileWidthAt(size int64, level int, n int64) int {
	count := size>>(uint(level)*tileHeight) - n*tileWidth
	if count <= 0 {
		return 0
	}
	if count > tileWidth {
		return tileWidth
	}
	return int(count)
}

// tiles serves tlog both as a plain HashReader (hashes taken from the
// tiles as they are) and as a TileReader (for tlog.TileHashReader, which
// authenticates each tile against the tree hash).
type tiles struct {
	f    *fetcher
	size int64
}

func (t *tiles) read(level int, n int64, width int) ([]byte, error) {
	path := tilePath(level, n, width)
	data, err := t.f.get(path, tileType)
	if err != nil {
		return nil, err
	}
	if len(data) != width*tlog.HashSize {
		return nil, fmt.Errorf("%s has %d bytes, want %d", path, len(data), width*tlog.HashSize)
	}
	return data, nil
}

func (t *tiles) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		tile := tlog.TileForIndex(tileHeight, x)
		tile.W = tileWidthAt(t.size, tile.L, tile.N)
		if tile.W == 0 {
			return nil, fmt.Errorf("stored hash %d lies beyond the tree", x)
		}
		data, err := t.read(tile.L, tile.N, tile.W)
		if err != nil {
			return nil, err
		}
		if out[i], err = tlog.HashFromTile(tile, data, x); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *tiles) Height() int { return tileHeight }

func (t *tiles) ReadTiles(list []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(list))
	for i, tile := range list {
		data, err := t.read(tile.L, tile.N, tile.W)
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (t *tiles) SaveTiles([]tlog.Tile, [][]byte) {}

// canonicalSize parses a tree size: decimal, no sign, no leading zero.
func canonicalSize(s string) (int64, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("tree size %q is not a canonical decimal", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("tree size %q: %v", s, err)
	}
	return n, nil
}

func decodeHash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize || base64.StdEncoding.EncodeToString(b) != s {
		return h, fmt.Errorf("%q is not the canonical base64 of a 32-byte hash", s)
	}
	copy(h[:], b)
	return h, nil
}

func parseCheckpoint(text string) (checkpoint, error) {
	var c checkpoint
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if !strings.HasSuffix(text, "\n") || len(lines) < 3 {
		return c, fmt.Errorf("want origin, size and root lines, each ending in a newline")
	}
	if c.origin = lines[0]; c.origin == "" {
		return c, fmt.Errorf("empty origin line")
	}
	var err error
	if c.size, err = canonicalSize(lines[1]); err != nil {
		return c, err
	}
	if c.root, err = decodeHash(lines[2]); err != nil {
		return c, fmt.Errorf("root: %v", err)
	}
	return c, nil
}

func openCheckpoint(f *fetcher, vkey string) (*note.Note, *failure) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fail("checkpoint signature", "bad verifier key: %v", err)
	}
	msg, err := f.get("checkpoint", noteType)
	if err != nil {
		return nil, fail("checkpoint signature", "%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return nil, fail("checkpoint signature", "%v (key %s+%08x)", err, v.Name(), v.KeyHash())
	}
	pass("checkpoint signature", "signed by %s+%08x, %d other signature line(s)", v.Name(),
		v.KeyHash(), len(n.UnverifiedSigs))
	return n, nil
}

func checkTreeHash(t *tiles, c checkpoint) *failure {
	if c.size == 0 {
		// RFC 6962's empty tree is SHA-256(""); tlog calls it all zeros.
		if c.root != tlog.Hash(sha256.Sum256(nil)) {
			return fail("tree hash", "empty tree with root %v, want SHA-256 of nothing", c.root)
		}
		pass("tree hash", "empty tree")
		return nil
	}
	got, err := tlog.TreeHash(c.size, t)
	if err != nil {
		return fail("tree hash", "%v", err)
	}
	if got != c.root {
		return fail("tree hash", "tiles give root %v, the checkpoint says %v", got, c.root)
	}
	pass("tree hash", "tlog.TreeHash over the tiles of %d leaves gives the checkpoint root", c.size)
	return nil
}

// memHashes is a whole tree's stored hashes, in tlog's storage order.
type memHashes []tlog.Hash

func (m memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("stored hash %d lies beyond the tree", x)
		}
		out[i] = m[x]
	}
	return out, nil
}

// leafHashes authenticates every tile against the checkpoint and returns
// the leaf hashes. tlog.TileHashReader reads them first; but it leaves some
// full tiles unchecked (its loop over the tiles to authenticate starts at
// the count of subtree hashes, not of the tiles that hold them), so the tree
// is also rebuilt from the level-0 tiles alone with
// tlog.StoredHashesForRecordHash: its root must be the checkpoint's, and
// every hash of every higher tile must be the node it stands for.
func leafHashes(t *tiles, c checkpoint) ([]tlog.Hash, *failure) {
	const check = "tile authentication"
	if c.size == 0 {
		return nil, nil
	}
	indexes := make([]int64, c.size)
	for i := range indexes {
		indexes[i] = tlog.StoredHashIndex(0, int64(i))
	}
	r := tlog.TileHashReader(tlog.Tree{N: c.size, Hash: c.root}, t)
	if _, err := r.ReadHashes(indexes); err != nil {
		return nil, fail(check, "tlog.TileHashReader: %v", err)
	}
	leaves, err := t.ReadHashes(indexes)
	if err != nil {
		return nil, fail(check, "%v", err)
	}
	var tree memHashes
	for i, h := range leaves {
		add, err := tlog.StoredHashesForRecordHash(int64(i), h, tree)
		if err != nil {
			return nil, fail(check, "rebuilding the tree at leaf %d: %v", i, err)
		}
		tree = append(tree, add...)
	}
	if root, err := tlog.TreeHash(c.size, tree); err != nil || root != c.root {
		return nil, fail(check, "the level-0 tiles give root %v, the checkpoint says %v (%v)", root,
			c.root, err)
	}
	if bad := checkUpperTiles(t, c, tree); bad != nil {
		return nil, bad
	}
	pass(check, "tlog.TileHashReader and a rebuild from the level-0 tiles agree with every "+
		"tile of the %d leaves", c.size)
	return leaves, nil
}

// checkUpperTiles compares each hash of each tile above level 0 with the
// node of the rebuilt tree that it stands for.
func checkUpperTiles(t *tiles, c checkpoint, tree memHashes) *failure {
	for level := 1; c.size>>(uint(level)*tileHeight) > 0; level++ {
		for n := int64(0); ; n++ {
			width := tileWidthAt(c.size, level, n)
			if width == 0 {
				break
			}
			data, err := t.read(level, n, width)
			if err != nil {
				return fail("tile authentication", "%v", err)
			}
			for i := 0; i < width; i++ {
				var h tlog.Hash
				copy(h[:], data[i*tlog.HashSize:])
				x := tlog.StoredHashIndex(level*tileHeight, n*tileWidth+int64(i))
				if h != tree[x] {
					return fail("tile authentication", "%s: hash %d is not the root of its "+
						"leaves", tilePath(level, n, width), i)
				}
			}
		}
	}
	return nil
}

func checkBundles(f *fetcher, c checkpoint, leaves []tlog.Hash) *failure {
	for n := int64(0); n*tileWidth < c.size; n++ {
		width := tileWidthAt(c.size, 0, n)
		path := tilePath(-1, n, width)
		data, err := f.get(path, tileType)
		if err != nil {
			return fail("entry bundles", "%v", err)
		}
		for i := 0; i < width; i++ {
			if len(data) < 2 {
				return fail("entry bundles", "%s ends before entry %d", path, i)
			}
			size := int(data[0])<<8 | int(data[1])
			if len(data) < 2+size {
				return fail("entry bundles", "%s ends inside entry %d", path, i)
			}
			leaf := n*tileWidth + int64(i)
			if tlog.RecordHash(data[2:2+size]) != leaves[leaf] {
				return fail("entry bundles", "%s: leaf %d does not hash to its tile hash", path, leaf)
			}
			data = data[2+size:]
		}
		if len(data) != 0 {
			return fail("entry bundles", "%s has %d bytes after its %d entries", path, len(data), width)
		}
	}
	pass("entry bundles", "all %d entries hash to their level-0 tile hashes", c.size)
	return nil
}

// apiClient is an HTTPS client with a participant's certificate.
func apiClient(certFile, keyFile, caFile string) (*http.Client, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	config := &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots,
		MinVersion: tls.VersionTLS12}
	return &http.Client{Timeout: fetchTimeout,
		Transport: &http.Transport{TLSClientConfig: config}}, nil
}

// proofFrom GETs an API route answering {<field>: [base64 hash, ...]}.
func proofFrom(api *fetcher, route, field string) ([]tlog.Hash, error) {
	body, err := api.get(route, "")
	if err != nil {
		return nil, err
	}
	var answer map[string]json.RawMessage
	var list []string
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, fmt.Errorf("%s: %v", route, err)
	}
	if err := json.Unmarshal(answer[field], &list); err != nil {
		return nil, fmt.Errorf("%s: no list %q: %v", route, field, err)
	}
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		if out[i], err = decodeHash(s); err != nil {
			return nil, fmt.Errorf("%s: hash %d: %v", route, i, err)
		}
	}
	return out, nil
}

func equalProofs(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func checkInclusion(api *fetcher, t *tiles, c checkpoint, leaves []tlog.Hash, index int64) *failure {
	const check = "inclusion proof"
	if index < 0 || index >= c.size {
		return fail(check, "entry index %d is not in the tree of size %d", index, c.size)
	}
	route := fmt.Sprintf("/v1/journal/proof/inclusion?index=%d&size=%d", index, c.size)
	proof, err := proofFrom(api, route, "inclusion_proof")
	if err != nil {
		return fail(check, "%v", err)
	}
	if err := tlog.CheckRecord(proof, c.size, c.root, index, leaves[index]); err != nil {
		return fail(check, "the hub's proof of entry %d in size %d: %v", index, c.size, err)
	}
	own, err := tlog.ProveRecord(c.size, index, t)
	if err != nil || !equalProofs(own, proof) {
		return fail(check, "the hub's proof differs from tlog.ProveRecord over the tiles (%v)", err)
	}
	pass(check, "entry %d in size %d, %d hashes, passes tlog.CheckRecord and equals tlog.ProveRecord",
		index, c.size, len(proof))
	return nil
}

func checkConsistency(api *fetcher, t *tiles, c checkpoint, from int64) *failure {
	const check = "consistency proof"
	if from < 1 || from > c.size {
		return fail(check, "size %d is not in 1..%d", from, c.size)
	}
	route := fmt.Sprintf("/v1/journal/proof/consistency?from=%d&to=%d", from, c.size)
	proof, err := proofFrom(api, route, "consistency_proof")
	if err != nil {
		return fail(check, "%v", err)
	}
	old, err := tlog.TreeHash(from, t)
	if err != nil {
		return fail(check, "root of size %d from the tiles: %v", from, err)
	}
	if err := tlog.CheckTree(proof, c.size, c.root, from, old); err != nil {
		return fail(check, "the hub's proof from size %d to %d: %v", from, c.size, err)
	}
	own, err := tlog.ProveTree(c.size, from, t)
	if err != nil || !equalProofs(own, proof) {
		return fail(check, "the hub's proof differs from tlog.ProveTree over the tiles (%v)", err)
	}
	pass(check, "size %d to %d, %d hashes, passes tlog.CheckTree and equals tlog.ProveTree", from,
		c.size, len(proof))
	return nil
}

type options struct {
	url, vkey, api, cert, key, ca string
	index, from                   int64
}

func run(o options) *failure {
	log := &fetcher{&http.Client{Timeout: fetchTimeout}, strings.TrimSuffix(o.url, "/") + "/journal/",
		map[string][]byte{}}
	n, bad := openCheckpoint(log, o.vkey)
	if bad != nil {
		return bad
	}
	c, err := parseCheckpoint(n.Text)
	if err != nil {
		return fail("checkpoint body", "%v", err)
	}
	if c.origin != n.Sigs[0].Name {
		return fail("checkpoint body", "origin %q is not the log key's name %q", c.origin, n.Sigs[0].Name)
	}
	pass("checkpoint body", "origin %s, size %d, root %v", c.origin, c.size, c.root)

	t := &tiles{log, c.size}
	if bad := checkTreeHash(t, c); bad != nil {
		return bad
	}
	leaves, bad := leafHashes(t, c)
	if bad != nil {
		return bad
	}
	if bad := checkBundles(log, c, leaves); bad != nil {
		return bad
	}
	if o.index < 0 && o.from < 0 {
		return nil
	}
	client, err := apiClient(o.cert, o.key, o.ca)
	if err != nil {
		return fail("hub API", "client certificate: %v", err)
	}
	api := &fetcher{client, strings.TrimSuffix(o.api, "/"), map[string][]byte{}}
	if o.index >= 0 {
		if bad := checkInclusion(api, t, c, leaves, o.index); bad != nil {
			return bad
		}
	}
	if o.from >= 0 {
		return checkConsistency(api, t, c, o.from)
	}
	return nil
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "", "base URL of the journal listener: http://127.0.0.1:PORT")
	flag.StringVar(&o.vkey, "vkey", "", "the log's verifier key: <name>+<hash>+<base64>")
	flag.Int64Var(&o.index, "index", -1, "check the hub's inclusion proof of this entry index")
	flag.Int64Var(&o.from, "from", -1, "check the hub's consistency proof from this tree size")
	flag.StringVar(&o.api, "api", "", "the hub's API URL for proofs: https://127.0.0.1:PORT")
	flag.StringVar(&o.cert, "cert", "", "participant certificate (PEM) for the API")
	flag.StringVar(&o.key, "key", "", "its private key (PEM)")
	flag.StringVar(&o.ca, "ca", "", "CA certificate (PEM) the hub's certificate chains to")
	flag.Parse()
	needAPI := o.index >= 0 || o.from >= 0
	if o.url == "" || o.vkey == "" || flag.NArg() != 0 ||
		(needAPI && (o.api == "" || o.cert == "" || o.key == "" || o.ca == "")) {
		fmt.Fprintln(os.Stderr, "usage: tlogcheck -url URL -vkey VKEY "+
			"[-index I] [-from M] [-api URL -cert PEM -key PEM -ca PEM]")
		os.Exit(2)
	}
	if bad := run(o); bad != nil {
		fmt.Printf("FAIL %s: %s\n", bad.check, bad.reason)
		os.Exit(1)
	}
}
