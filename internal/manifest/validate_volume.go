package manifest

import (
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const fileModeErrorMsg = "must be a number between 0 and 0777 (octal), both inclusive"

// validateVolumes checks names (DNS-1123 labels, unique) and sources and
// returns the valid volumes by name for the volumeMounts check
// (ValidateVolumes: an invalid volume is left out, so mounts of it are
// also reported).
func validateVolumes(volumes []corev1.Volume, fldPath *field.Path) (map[string]corev1.VolumeSource, field.ErrorList) {
	var allErrs field.ErrorList
	names := sets.New[string]()
	vols := map[string]corev1.VolumeSource{}
	for i, v := range volumes {
		p := fldPath.Index(i)
		namePath := p.Child("name")
		el := validateVolumeSource(&v.VolumeSource, p)
		if v.Name == "" {
			el = append(el, field.Required(namePath, ""))
		} else {
			el = append(el, validateDNS1123Label(v.Name, namePath)...)
		}
		if names.Has(v.Name) {
			el = append(el, field.Duplicate(namePath, v.Name))
		}
		if len(el) == 0 {
			names.Insert(v.Name)
			vols[v.Name] = v.VolumeSource
		} else {
			allErrs = append(allErrs, el...)
		}
	}
	return vols, allErrs
}

// validateVolumeSource requires exactly one source type, in the struct's
// field order, and checks the sources podrun can run.
func validateVolumeSource(vs *corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	n := 0
	rv := reflect.ValueOf(vs).Elem()
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		if rv.Field(i).IsNil() {
			continue
		}
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if n > 0 {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child(name), "may not specify more than 1 volume type"))
			continue
		}
		n++
		allErrs = append(allErrs, validateOneSource(vs, fldPath.Child(name))...)
	}
	if n == 0 {
		allErrs = append(allErrs, field.Required(fldPath, "must specify a volume type"))
	}
	return allErrs
}

func validateOneSource(vs *corev1.VolumeSource, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	switch {
	case vs.EmptyDir != nil:
		if vs.EmptyDir.SizeLimit != nil && vs.EmptyDir.SizeLimit.Sign() < 0 {
			allErrs = append(allErrs, field.Forbidden(p.Child("sizeLimit"), "SizeLimit field must be a valid resource quantity"))
		}
		switch vs.EmptyDir.Medium {
		case corev1.StorageMediumDefault, corev1.StorageMediumMemory:
		default:
			if !strings.HasPrefix(string(vs.EmptyDir.Medium), string(corev1.StorageMediumHugePagesPrefix)) {
				allErrs = append(allErrs, field.NotSupported(p.Child("medium"), vs.EmptyDir.Medium, []corev1.StorageMedium{corev1.StorageMediumDefault, corev1.StorageMediumMemory}))
			}
		}
	case vs.HostPath != nil:
		if vs.HostPath.Path == "" {
			allErrs = append(allErrs, field.Required(p.Child("path"), ""))
		}
		if t := vs.HostPath.Type; t != nil {
			valid := []corev1.HostPathType{corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory,
				corev1.HostPathFileOrCreate, corev1.HostPathFile, corev1.HostPathSocket, corev1.HostPathCharDev, corev1.HostPathBlockDev}
			ok := false
			for _, v := range valid {
				ok = ok || v == *t
			}
			if !ok {
				allErrs = append(allErrs, field.NotSupported(p.Child("type"), *t, valid))
			}
		}
	case vs.ConfigMap != nil:
		allErrs = append(allErrs, validateRefName(vs.ConfigMap.Name, p.Child("name"))...)
		allErrs = append(allErrs, validateMode(vs.ConfigMap.DefaultMode, p.Child("defaultMode"))...)
		allErrs = append(allErrs, validateKeyToPaths(vs.ConfigMap.Items, p.Child("items"))...)
	case vs.Secret != nil:
		allErrs = append(allErrs, validateRefName(vs.Secret.SecretName, p.Child("secretName"))...)
		allErrs = append(allErrs, validateMode(vs.Secret.DefaultMode, p.Child("defaultMode"))...)
		allErrs = append(allErrs, validateKeyToPaths(vs.Secret.Items, p.Child("items"))...)
	case vs.DownwardAPI != nil:
		allErrs = append(allErrs, validateMode(vs.DownwardAPI.DefaultMode, p.Child("defaultMode"))...)
		for i, item := range vs.DownwardAPI.Items {
			ip := p.Child("items").Index(i)
			allErrs = append(allErrs, validateLocalNonReservedPath(item.Path, ip.Child("path"))...)
			allErrs = append(allErrs, validateMode(item.Mode, ip.Child("mode"))...)
			if item.FieldRef != nil && item.ResourceFieldRef != nil {
				allErrs = append(allErrs, field.Invalid(ip, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
			}
			if item.FieldRef != nil {
				allErrs = append(allErrs, validateObjectFieldSelector(item.FieldRef, ip.Child("fieldRef"))...)
			}
		}
	case vs.PersistentVolumeClaim != nil:
		if vs.PersistentVolumeClaim.ClaimName == "" {
			allErrs = append(allErrs, field.Required(p.Child("claimName"), ""))
		}
	case vs.Projected != nil:
		allErrs = append(allErrs, validateMode(vs.Projected.DefaultMode, p.Child("defaultMode"))...)
	case vs.Image != nil:
		if vs.Image.Reference == "" {
			allErrs = append(allErrs, field.Required(p.Child("reference"), ""))
		}
	}
	return allErrs
}

func validateMode(mode *int32, fldPath *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0o777 || *mode < 0) {
		return field.ErrorList{field.Invalid(fldPath, *mode, fileModeErrorMsg)}
	}
	return nil
}

func validateKeyToPaths(items []corev1.KeyToPath, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, kp := range items {
		ip := fldPath.Index(i)
		if kp.Key == "" {
			allErrs = append(allErrs, field.Required(ip.Child("key"), ""))
		}
		allErrs = append(allErrs, validateLocalNonReservedPath(kp.Path, ip.Child("path"))...)
		allErrs = append(allErrs, validateMode(kp.Mode, ip.Child("mode"))...)
	}
	return allErrs
}

func validateLocalNonReservedPath(target string, fldPath *field.Path) field.ErrorList {
	if target == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	allErrs := validateLocalDescendingPath(target, fldPath)
	if strings.HasPrefix(target, "..") {
		allErrs = append(allErrs, field.Invalid(fldPath, target, "must not start with '..'"))
	}
	return allErrs
}
