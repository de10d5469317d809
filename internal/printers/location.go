package printers

import (
	"reflect"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var (
	timeType      = reflect.TypeFor[metav1.Time]()
	microTimeType = reflect.TypeFor[metav1.MicroTime]()
)

// inLocation moves every metav1.Time and metav1.MicroTime reachable from
// obj (a pointer) into loc, so that describe prints absolute times in the
// zone of now rather than the process's local zone. The instants do not
// change.
func inLocation(obj any, loc *time.Location) {
	walkTimes(reflect.ValueOf(obj), loc)
}

func walkTimes(v reflect.Value, loc *time.Location) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkTimes(v.Elem(), loc)
		}
	case reflect.Struct:
		switch v.Type() {
		case timeType:
			if t := v.Addr().Interface().(*metav1.Time); !t.IsZero() {
				t.Time = t.Time.In(loc)
			}
			return
		case microTimeType:
			if t := v.Addr().Interface().(*metav1.MicroTime); !t.IsZero() {
				t.Time = t.Time.In(loc)
			}
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				walkTimes(v.Field(i), loc)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkTimes(v.Index(i), loc)
		}
	}
}
