package main

// ---- capacity: vSphere HA admission control, DRS settings, VM usage --------------------------
//
// govmomi 0.24.2's ReconfigureComputeResource_Task applies rules, groups and per-VM overrides
// only: a spec's dasConfig and drsConfig are dropped, so admission control set through the API
// never sticks (README "Made faithful"). The hook below keeps them, checked as vCenter checks
// them, and announces configurationEx. The simulator never sets a VM's quickStats; the
// set_vm_usage op stands in for the host agent that reports them on a real vCenter.

import (
	"fmt"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// capacityHooks are the calls of this file that hooked() sends to a hook, by managed object type.
var capacityHooks = map[string]string{
	"ReconfigureComputeResource_Task": "ClusterComputeResource",
}

// ReconfigureComputeResourceTask runs the simulator's own reconfiguration (rules, groups, overrides)
// and, when it succeeds, keeps the spec's dasConfig and drsConfig: merged into the cluster's with
// modify, replacing them without. An admission control policy vCenter refuses fails the task.
func (h *hook) ReconfigureComputeResourceTask(ctx *simulator.Context, req *types.ReconfigureComputeResource_Task) soap.HasFault {
	c, ok := simulator.Map.Get(h.target).(*simulator.ClusterComputeResource)
	if !ok {
		return &methods.ReconfigureComputeResource_TaskBody{Fault_: notFoundFault(h.target)}
	}
	spec, _ := req.Spec.(*types.ClusterConfigSpecEx)
	if spec != nil && spec.DasConfig != nil {
		if refusal := checkAdmission(c, spec.DasConfig.AdmissionControlPolicy); refusal != nil {
			task := newTask(ctx, c.Self, c.Name, "reconfigureEx", "ReconfigureComputeResource_Task", false)
			finish(task, refusal)
			return &methods.ReconfigureComputeResource_TaskBody{
				Res: &types.ReconfigureComputeResource_TaskResponse{Returnval: task.Self},
			}
		}
	}
	var res soap.HasFault
	simulator.Map.WithLock(c, func() {
		res = c.ReconfigureComputeResourceTask(&types.ReconfigureComputeResource_Task{This: c.Self, Spec: req.Spec, Modify: req.Modify})
		config, isEx := c.ConfigurationEx.(*types.ClusterConfigInfoEx)
		if spec == nil || !isEx || !taskSucceeded(res) {
			return
		}
		if spec.DasConfig != nil {
			mergeDas(&config.DasConfig, spec.DasConfig, req.Modify)
		}
		if spec.DrsConfig != nil {
			mergeDrs(&config.DrsConfig, spec.DrsConfig, req.Modify)
		}
		simulator.Map.Update(c, []types.PropertyChange{{Name: "configurationEx", Val: config}})
	})
	return res
}

func taskSucceeded(res soap.HasFault) bool {
	body, ok := res.(*methods.ReconfigureComputeResource_TaskBody)
	if !ok || body.Res == nil {
		return false
	}
	task, ok := simulator.Map.Get(body.Res.Returnval).(*simulator.Task)
	return ok && task.Info.State == types.TaskInfoStateSuccess
}

// checkAdmission refuses what vCenter refuses: no host failure to tolerate, a percentage outside
// 0-100, a dedicated failover host that is not a host of this cluster.
func checkAdmission(c *simulator.ClusterComputeResource, policy types.BaseClusterDasAdmissionControlPolicy) *outcome {
	invalid := func(property string) *outcome {
		return &outcome{&types.InvalidArgument{InvalidProperty: property}, "A specified parameter was not correct: " + property}
	}
	switch p := policy.(type) {
	case *types.ClusterFailoverLevelAdmissionControlPolicy:
		if p.FailoverLevel < 1 {
			return invalid("dasConfig.admissionControlPolicy.failoverLevel")
		}
	case *types.ClusterFailoverResourcesAdmissionControlPolicy:
		for property, percent := range map[string]int32{
			"dasConfig.admissionControlPolicy.cpuFailoverResourcesPercent":    p.CpuFailoverResourcesPercent,
			"dasConfig.admissionControlPolicy.memoryFailoverResourcesPercent": p.MemoryFailoverResourcesPercent,
		} {
			if percent < 0 || percent > 100 {
				return invalid(property)
			}
		}
	case *types.ClusterFailoverHostAdmissionControlPolicy:
		members := map[types.ManagedObjectReference]bool{}
		for _, host := range c.Host {
			members[host] = true
		}
		for _, host := range p.FailoverHosts {
			if !members[host] {
				return invalid("dasConfig.admissionControlPolicy.failoverHosts")
			}
		}
	}
	return nil
}

// mergeDas applies a spec's dasConfig as vCenter does: with modify only the fields it sets.
func mergeDas(into *types.ClusterDasConfigInfo, spec *types.ClusterDasConfigInfo, modify bool) {
	if !modify {
		*into = *spec
		return
	}
	if spec.Enabled != nil {
		into.Enabled = spec.Enabled
	}
	if spec.AdmissionControlEnabled != nil {
		into.AdmissionControlEnabled = spec.AdmissionControlEnabled
	}
	if spec.AdmissionControlPolicy != nil {
		into.AdmissionControlPolicy = spec.AdmissionControlPolicy
	}
	if spec.FailoverLevel != 0 {
		into.FailoverLevel = spec.FailoverLevel
	}
	if spec.HostMonitoring != "" {
		into.HostMonitoring = spec.HostMonitoring
	}
	if spec.VmMonitoring != "" {
		into.VmMonitoring = spec.VmMonitoring
	}
}

// mergeDrs applies a spec's drsConfig the same way.
func mergeDrs(into *types.ClusterDrsConfigInfo, spec *types.ClusterDrsConfigInfo, modify bool) {
	if !modify {
		*into = *spec
		return
	}
	if spec.Enabled != nil {
		into.Enabled = spec.Enabled
	}
	if spec.DefaultVmBehavior != "" {
		into.DefaultVmBehavior = spec.DefaultVmBehavior
	}
	if spec.VmotionRate != 0 {
		into.VmotionRate = spec.VmotionRate
	}
}

// setVMUsage sets what a VM uses now (summary.quickStats hostMemoryUsage in MB, overallCpuUsage in
// MHz), as a host agent reports it every 20 s or so on a real vCenter; reads and feeds see it.
func setVMUsage(key string, memoryMB, cpuMHz *int32) error {
	if memoryMB == nil || cpuMHz == nil || *memoryMB < 0 || *cpuMHz < 0 {
		return fmt.Errorf(`set_vm_usage needs "memory_mb" and "cpu_mhz", 0 or more`)
	}
	vm, err := findVM(key)
	if err != nil {
		return err
	}
	simulator.Map.WithLock(vm, func() {
		simulator.Map.Update(vm, []types.PropertyChange{
			{Name: "summary.quickStats.hostMemoryUsage", Val: *memoryMB},
			{Name: "summary.quickStats.overallCpuUsage", Val: *cpuMHz},
		})
	})
	return nil
}
