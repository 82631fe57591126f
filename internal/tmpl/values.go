package tmpl

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// toGo converts a CEL value into plain Go values.
func toGo(v ref.Val) (any, error) {
	switch v := v.(type) {
	case *types.Err:
		return nil, v
	case types.String:
		return string(v), nil
	case types.Int:
		return int(v), nil
	case types.Uint:
		if uint64(v) > math.MaxInt64 {
			return nil, fmt.Errorf("unsigned value %d does not fit an int", uint64(v))
		}
		return int(v), nil
	case types.Double:
		return float64(v), nil
	case types.Bool:
		return bool(v), nil
	case types.Null:
		return nil, nil
	case types.Duration:
		return v.Duration.String(), nil
	case types.Timestamp:
		return v.Time.UTC().Format(time.RFC3339Nano), nil
	case traits.Lister:
		n, ok := v.Size().(types.Int)
		if !ok {
			return nil, fmt.Errorf("list has no size")
		}
		out := make([]any, 0, int(n))
		for i := types.Int(0); i < n; i++ {
			item, err := toGo(v.Get(i))
			if err != nil {
				return nil, err
			}
			out = append(out, item)
		}
		return out, nil
	case traits.Mapper:
		out := map[string]any{}
		it := v.Iterator()
		for it.HasNext() == types.True {
			k := it.Next()
			ks, ok := k.(types.String)
			if !ok {
				return nil, fmt.Errorf("map key %v is not a string", k.Value())
			}
			item, err := toGo(v.Get(k))
			if err != nil {
				return nil, err
			}
			out[string(ks)] = item
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported value of type %s", v.Type().TypeName())
}

// sortedAdapter turns Go maps into CEL maps that iterate in key order, so
// macros over maps (map, filter) give the same result on every replay of a
// workflow; Go map order is random. It also reads whole float64s as ints.
type sortedAdapter struct{}

func (a sortedAdapter) NativeToValue(v any) ref.Val {
	switch v := v.(type) {
	case map[string]any:
		return sortedMap{types.NewStringInterfaceMap(a, v)}
	case map[string]string:
		return sortedMap{types.NewStringStringMap(a, v)}
	case []any:
		return types.NewDynamicList(a, v)
	case []map[string]any:
		return types.NewDynamicList(a, v)
	case int:
		return types.Int(v)
	case float64:
		// Values that reach a workflow through JSON have every int turned
		// into a float64; whole numbers are ints again so params.limit * 2
		// and steps.x.output.count + 1 work.
		if v == math.Trunc(v) && math.Abs(v) <= 1<<53 {
			return types.Int(int64(v))
		}
	}
	return types.DefaultTypeAdapter.NativeToValue(v)
}

// sortedMap is a CEL map whose iterator yields string keys in order.
type sortedMap struct{ traits.Mapper }

func (m sortedMap) Iterator() traits.Iterator {
	var keys []string
	it := m.Mapper.Iterator()
	for it.HasNext() == types.True {
		if s, ok := it.Next().(types.String); ok {
			keys = append(keys, string(s))
		}
	}
	slices.Sort(keys)
	return types.NewStringList(sortedAdapter{}, keys).Iterator()
}
