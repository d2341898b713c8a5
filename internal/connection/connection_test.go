package connection

import (
	"strconv"
	"strings"
	"testing"

	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

func TestIDIsStableAndDistinct(t *testing.T) {
	a := ID("eu", zoho.Sandbox, "123")
	if a != ID("EU", zoho.Sandbox, "123") {
		t.Fatal("id depends on location case")
	}
	seen := map[string]bool{}
	for _, dc := range zoho.DataCenters() {
		for _, env := range zoho.Environments {
			id := ID(dc.Location, env, "123")
			if seen[id] || !ValidID(id) {
				t.Fatalf("id %s repeated or invalid", id)
			}
			seen[id] = true
		}
	}
	for _, bad := range []string{"", "zc_", "zc_XYZ", a + "0", "../" + a[3:], strings.ToUpper(a)} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

func TestRefreshShardsSpread(t *testing.T) {
	counts := map[string]int{}
	for i := range 16000 {
		counts[RefreshShard(ID("us", zoho.Production, strconv.Itoa(1000000+i)))]++
	}
	if len(counts) != RefreshShards {
		t.Fatalf("used %d shards, want %d", len(counts), RefreshShards)
	}
	for s, n := range counts {
		if n < 800 || n > 1200 {
			t.Errorf("shard %s has %d of 16000", s, n)
		}
	}
}

func TestSubmissionKeys(t *testing.T) {
	if _, err := NewSubmissionKeys([]byte("short")); err == nil {
		t.Fatal("accepted a short master")
	}
	k, _ := NewSubmissionKeys([]byte(strings.Repeat("m", 64)))
	key, id, hash, err := k.New("zc_1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key.Reveal(), "zsk_") || strings.Contains(hash, key.Reveal()) || key.Reveal() == hash {
		t.Fatalf("key %q hash %q", key.Reveal(), hash)
	}
	if k.Derive("zc_1", id) != key {
		t.Fatal("Derive does not re-create the key")
	}
	if k.Derive("zc_2", id) == key {
		t.Fatal("key does not depend on the connection")
	}
	if !KeyMatches(key.Reveal(), hash) || KeyMatches(key.Reveal()+"x", hash) || KeyMatches("", "") || KeyMatches(key.Reveal(), "") {
		t.Fatal("KeyMatches is wrong")
	}
	k2, _ := NewSubmissionKeys([]byte(strings.Repeat("n", 64)))
	if k2.Derive("zc_1", id) == key {
		t.Fatal("key does not depend on the master")
	}
}
