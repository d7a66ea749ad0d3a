package protocol

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"unmask/engine"
)

// The wire's names are part of the format: a worker built from another
// version must still understand the page. Changing one is a format change.
func TestOptionsWireNames(t *testing.T) {
	data, err := json.Marshal(WireOptions(engine.DefaultOptions()))
	require.NoError(t, err)
	var fields map[string]any
	require.NoError(t, json.Unmarshal(data, &fields))
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	assert.Equal(t, []string{
		"block_length", "cache", "cfg_scale", "gen_length", "remasking", "seed", "steps",
		"suppress_eos", "temperature", "threshold", "top_k",
	}, names)
}

// Every field of engine.Options survives the trip through the wire: a new
// sampler option the wire does not carry fails here, named.
func TestOptionsCarryEveryField(t *testing.T) {
	var o engine.Options
	v := reflect.ValueOf(&o).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(i + 2))
		case reflect.Uint64:
			f.SetUint(uint64(1<<40 + i))
		case reflect.Float64:
			f.SetFloat(float64(i) + 0.25)
		case reflect.Bool:
			f.SetBool(true)
		case reflect.String:
			f.SetString(string(engine.Margin))
		default:
			t.Fatalf("engine.Options.%s has kind %s: teach this test (and the wire) about it", v.Type().Field(i).Name, f.Kind())
		}
	}
	data, err := json.Marshal(WireOptions(o))
	require.NoError(t, err)
	var wire Options
	require.NoError(t, json.Unmarshal(data, &wire))
	back := wire.Engine()
	bv := reflect.ValueOf(back)
	for i := range v.NumField() {
		assert.Equal(t, v.Field(i).Interface(), bv.Field(i).Interface(),
			"engine.Options.%s does not cross the wire", v.Type().Field(i).Name)
	}
}

// An error response's code travels under its own name.
func TestResponseCode(t *testing.T) {
	data, err := json.Marshal(Response{Type: Error, ID: 3, Error: "bad", Code: ErrModelDamaged})
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"error","id":3,"error":"bad","code":"model_damaged"}`, string(data))
}
