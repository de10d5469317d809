package spec

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// User is one line of an image's /etc/passwd.
type User struct {
	Name string
	UID  uint32
	GID  uint32
}

// Group is one line of an image's /etc/group.
type Group struct {
	Name    string
	GID     uint32
	Members []string
}

// UserDB is an image's /etc/passwd and /etc/group, read by the caller from
// the container's rootfs so that this package stays pure. A nil *UserDB
// is an image without those files.
type UserDB struct {
	Users  []User
	Groups []Group
}

// ParseUserDB parses passwd and group files; either reader may be nil.
// Malformed lines are skipped, as libc does.
func ParseUserDB(passwd, group io.Reader) (*UserDB, error) {
	db := &UserDB{}
	if passwd != nil {
		err := eachLine(passwd, func(f []string) {
			if len(f) < 4 {
				return
			}
			uid, err1 := strconv.ParseUint(f[2], 10, 32)
			gid, err2 := strconv.ParseUint(f[3], 10, 32)
			if err1 != nil || err2 != nil || f[0] == "" {
				return
			}
			db.Users = append(db.Users, User{Name: f[0], UID: uint32(uid), GID: uint32(gid)})
		})
		if err != nil {
			return nil, fmt.Errorf("read passwd: %w", err)
		}
	}
	if group != nil {
		err := eachLine(group, func(f []string) {
			if len(f) < 3 {
				return
			}
			gid, err := strconv.ParseUint(f[2], 10, 32)
			if err != nil || f[0] == "" {
				return
			}
			g := Group{Name: f[0], GID: uint32(gid)}
			if len(f) > 3 && f[3] != "" {
				g.Members = strings.Split(f[3], ",")
			}
			db.Groups = append(db.Groups, g)
		})
		if err != nil {
			return nil, fmt.Errorf("read group: %w", err)
		}
	}
	return db, nil
}

func eachLine(r io.Reader, fn func([]string)) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fn(strings.Split(line, ":"))
	}
	return sc.Err()
}

func (db *UserDB) userByID(uid uint32) (User, bool) {
	if db != nil {
		for _, u := range db.Users {
			if u.UID == uid {
				return u, true
			}
		}
	}
	return User{}, false
}

func (db *UserDB) userByName(name string) (User, bool) {
	if db != nil {
		for _, u := range db.Users {
			if u.Name == name {
				return u, true
			}
		}
	}
	return User{}, false
}

func (db *UserDB) groupByName(name string) (Group, bool) {
	if db != nil {
		for _, g := range db.Groups {
			if g.Name == name {
				return g, true
			}
		}
	}
	return Group{}, false
}

// memberships are the gids of the groups listing name as a member.
func (db *UserDB) memberships(name string) []uint32 {
	if db == nil || name == "" {
		return nil
	}
	var gids []uint32
	for _, g := range db.Groups {
		for _, m := range g.Members {
			if m == name {
				gids = append(gids, g.GID)
				break
			}
		}
	}
	return gids
}

// effectiveSC merges the pod's security context under the container's, as
// the kubelet's DetermineEffectiveSecurityContext for the fields podrun
// reads.
func effectiveSC(pod *corev1.Pod, c *corev1.Container) corev1.SecurityContext {
	var sc corev1.SecurityContext
	if c.SecurityContext != nil {
		sc = *c.SecurityContext
	}
	if p := pod.Spec.SecurityContext; p != nil {
		if sc.RunAsUser == nil {
			sc.RunAsUser = p.RunAsUser
		}
		if sc.RunAsGroup == nil {
			sc.RunAsGroup = p.RunAsGroup
		}
		if sc.RunAsNonRoot == nil {
			sc.RunAsNonRoot = p.RunAsNonRoot
		}
		if sc.SeccompProfile == nil {
			sc.SeccompProfile = p.SeccompProfile
		}
		if sc.SELinuxOptions == nil {
			sc.SELinuxOptions = p.SELinuxOptions
		}
	}
	return sc
}

// imageUser splits the image's USER into its user and group parts.
func imageUser(image *v1.ConfigFile) (user, group string) {
	if image == nil {
		return "", ""
	}
	user, group, _ = strings.Cut(image.Config.User, ":")
	return user, group
}

// verifyRunAsNonRoot is the kubelet's check, with its messages.
func verifyRunAsNonRoot(pod *corev1.Pod, c *corev1.Container, sc corev1.SecurityContext, image *v1.ConfigFile) error {
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		return nil
	}
	podID := fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
	if sc.RunAsUser != nil {
		if *sc.RunAsUser == 0 {
			return configErrorf("container's runAsUser breaks non-root policy (pod: %q, container: %s)", podID, c.Name)
		}
		return nil
	}
	user, _ := imageUser(image)
	if user == "" {
		return configErrorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", podID, c.Name)
	}
	uid, err := strconv.ParseInt(user, 10, 64)
	if err != nil {
		return configErrorf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: %q, container: %s)", user, podID, c.Name)
	}
	if uid == 0 {
		return configErrorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", podID, c.Name)
	}
	if errs := validation.IsValidUserID(uid); len(errs) > 0 {
		return configErrorf("container has runAsNonRoot and image has an invalid user id (%d). (Must be 1-(%d)): %s (pod: %q, container: %s)",
			uid, math.MaxInt32, strings.Join(errs, "; "), podID, c.Name)
	}
	return nil
}

// processUser resolves uid, gid and additional gids as containerd does
// from the CRI user string and the image's /etc/passwd and /etc/group:
// runAsUser, else the image's USER (numeric or a name from passwd), else
// root; runAsGroup, else the image's group part, else the user's passwd
// group, else 0. Additional gids are the primary gid, the groups of
// /etc/group listing the user, fsGroup and supplementalGroups.
func processUser(pod *corev1.Pod, sc corev1.SecurityContext, image *v1.ConfigFile, db *UserDB) (specs.User, error) {
	userPart, groupPart := imageUser(image)
	var u specs.User
	var name string
	switch {
	case sc.RunAsUser != nil:
		u.UID = uint32(*sc.RunAsUser)
		groupPart = ""
	case userPart == "":
		u.UID = 0
	default:
		if n, err := strconv.ParseUint(userPart, 10, 32); err == nil {
			u.UID = uint32(n)
		} else {
			e, ok := db.userByName(userPart)
			if !ok {
				return u, fmt.Errorf("unable to find user %s: no matching entries in passwd file", userPart)
			}
			u.UID, u.GID, name = e.UID, e.GID, e.Name
		}
	}
	if name == "" {
		if e, ok := db.userByID(u.UID); ok {
			u.GID, name = e.GID, e.Name
		}
	}
	switch {
	case sc.RunAsGroup != nil:
		u.GID = uint32(*sc.RunAsGroup)
	case groupPart != "":
		if n, err := strconv.ParseUint(groupPart, 10, 32); err == nil {
			u.GID = uint32(n)
		} else {
			g, ok := db.groupByName(groupPart)
			if !ok {
				return u, fmt.Errorf("unable to find group %s: no matching entries in group file", groupPart)
			}
			u.GID = g.GID
		}
	}
	gids := []uint32{u.GID}
	gids = append(gids, db.memberships(name)...)
	if psc := pod.Spec.SecurityContext; psc != nil {
		if psc.FSGroup != nil {
			gids = append(gids, uint32(*psc.FSGroup))
		}
		for _, g := range psc.SupplementalGroups {
			gids = append(gids, uint32(g))
		}
	}
	u.AdditionalGids = dedupe(gids)
	return u, nil
}

func dedupe(in []uint32) []uint32 {
	seen := map[uint32]bool{}
	out := in[:0]
	for _, v := range in {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
