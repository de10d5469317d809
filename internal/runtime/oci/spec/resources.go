package spec

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// The kubelet's CPU constants (pkg/kubelet/cm).
const (
	minShares      = 2
	maxShares      = 262144
	sharesPerCPU   = 1024
	milliCPUToCPU  = 1000
	quotaPeriod    = 100000
	minQuotaPeriod = 1000
)

// MilliCPUToShares is the kubelet's cpu.shares for a cpu request.
func MilliCPUToShares(milliCPU int64) uint64 {
	if milliCPU == 0 {
		return minShares
	}
	shares := milliCPU * sharesPerCPU / milliCPUToCPU
	switch {
	case shares < minShares:
		return minShares
	case shares > maxShares:
		return maxShares
	}
	return uint64(shares)
}

// MilliCPUToQuota is the kubelet's CFS quota for a cpu limit over period
// (0: no limit).
func MilliCPUToQuota(milliCPU, period int64) int64 {
	if milliCPU == 0 {
		return 0
	}
	quota := milliCPU * period / milliCPUToCPU
	if quota < minQuotaPeriod {
		return minQuotaPeriod
	}
	return quota
}

// resources maps the container's requests and limits as the kubelet's
// calculateLinuxResources: shares from the cpu request (the limit when only
// a limit is set), quota over a 100 ms period from the cpu limit, the memory
// limit; pids from the node's setting. oom_score_adj is left to the
// runtime.
func resources(c *corev1.Container, pids int64, privileged bool) *specs.LinuxResources {
	r := &specs.LinuxResources{}
	cpuReq, hasReq := c.Resources.Requests[corev1.ResourceCPU]
	cpuLim := c.Resources.Limits[corev1.ResourceCPU]
	var shares uint64
	if !hasReq && !cpuLim.IsZero() {
		shares = MilliCPUToShares(cpuLim.MilliValue())
	} else {
		shares = MilliCPUToShares(cpuReq.MilliValue())
	}
	period := uint64(quotaPeriod)
	r.CPU = &specs.LinuxCPU{Shares: &shares, Period: &period}
	if q := MilliCPUToQuota(cpuLim.MilliValue(), quotaPeriod); q != 0 {
		r.CPU.Quota = &q
	}
	if mem, ok := c.Resources.Limits[corev1.ResourceMemory]; ok && !mem.IsZero() {
		v := mem.Value()
		r.Memory = &specs.LinuxMemory{Limit: &v}
	}
	if pids != 0 {
		r.Pids = &specs.LinuxPids{Limit: &pids}
	}
	r.Devices = []specs.LinuxDeviceCgroup{{Allow: privileged, Access: "rwm"}}
	return r
}
