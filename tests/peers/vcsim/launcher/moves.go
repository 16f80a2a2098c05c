package main

// ---- moves: vMotion, Storage vMotion, maintenance mode, tasks that run and can be cancelled ----
//
// govmomi 0.24.2's simulator runs RelocateVM_Task and the maintenance mode calls inside the call,
// checks nothing, and leaves most of what a real vCenter changes unchanged or unannounced
// (README "Made faithful"). The hooks below answer those calls instead, and CancelTask, which
// the simulator lacks. Every change goes through Map.Update, so reads and WaitForUpdatesEx see it.

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const tickInterval = 100 * time.Millisecond

// moveHooks are the calls of this file that hooked() sends to a hook, by managed object type.
var moveHooks = map[string]string{
	"RelocateVM_Task":           "VirtualMachine",
	"EnterMaintenanceMode_Task": "HostSystem",
	"ExitMaintenanceMode_Task":  "HostSystem",
	"CancelTask":                "Task",
}

// tasks is the launcher's own task runner: how long a relocation takes, and the tasks still running.
type taskRunner struct {
	mu            sync.Mutex
	relocateTakes time.Duration
	running       map[types.ManagedObjectReference]chan struct{}                // closed to cancel
	busy          map[types.ManagedObjectReference]types.ManagedObjectReference // entity -> our task running on it
}

var tasks = &taskRunner{
	running: map[types.ManagedObjectReference]chan struct{}{},
	busy:    map[types.ManagedObjectReference]types.ManagedObjectReference{},
}

// claim marks the entity busy with a task; else it names the task of ours that runs on it.
func (r *taskRunner) claim(entity, task types.ManagedObjectReference) *outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	if other, busy := r.busy[entity]; busy {
		return &outcome{&types.TaskInProgress{Task: other}, "Another task is already in progress."}
	}
	r.busy[entity] = task
	return nil
}

func (r *taskRunner) release(entity types.ManagedObjectReference) {
	r.mu.Lock()
	delete(r.busy, entity)
	r.mu.Unlock()
}

// end finishes a task that ran in the background, its entity free before the task shows it ended.
func (r *taskRunner) end(task *simulator.Task, end *outcome) {
	r.mu.Lock()
	delete(r.running, task.Self)
	delete(r.busy, *task.Info.Entity)
	r.mu.Unlock()
	finish(task, end)
}

func (r *taskRunner) setRelocateSeconds(seconds float64) error {
	if seconds < 0 || seconds > 600 {
		return fmt.Errorf("seconds must be between 0 and 600, not %g", seconds)
	}
	r.mu.Lock()
	r.relocateTakes = time.Duration(seconds * float64(time.Second))
	r.mu.Unlock()
	return nil
}

// outcome ends a task: nil fault is success.
type outcome struct {
	fault types.BaseMethodFault
	msg   string
}

// newTask makes a queued task on entity as a real vCenter names it: descriptionId, name, entity
// name and the session's user (the simulator sets the moref as entityName and "vcsim" as user).
func newTask(ctx *simulator.Context, entity types.ManagedObjectReference, entityName, id, method string,
	cancelable bool) *simulator.Task {
	task := simulator.CreateTask(entity, id, nil)
	user := "vcsim"
	if ctx.Session != nil {
		user = ctx.Session.UserName
	}
	simulator.Map.WithLock(task, func() {
		simulator.Map.Update(task, []types.PropertyChange{
			{Name: "info.name", Val: method},
			{Name: "info.entityName", Val: entityName},
			{Name: "info.cancelable", Val: cancelable},
			{Name: "info.reason", Val: &types.TaskReasonUser{UserName: user}},
		})
	})
	return task
}

// launch runs a task: tick is called at once and then every tickInterval with the time since the
// start, and returns the progress and, when the task is over, its outcome. A task that ends at the
// first tick ends inside the call, as the simulator's own tasks do.
func (r *taskRunner) launch(task *simulator.Task, tick func(time.Duration) (int32, *outcome)) {
	entity := *task.Info.Entity
	if busy := r.claim(entity, task.Self); busy != nil { // a real vCenter runs one task at a time on an entity
		finish(task, busy)
		return
	}
	start := time.Now()
	setTask(task, []types.PropertyChange{
		{Name: "info.state", Val: types.TaskInfoStateRunning},
		{Name: "info.startTime", Val: start},
		{Name: "info.progress", Val: int32(0)},
	})
	progress, end := tick(0)
	if end != nil {
		r.release(entity)
		finish(task, end)
		return
	}
	if progress != 0 {
		setTask(task, []types.PropertyChange{{Name: "info.progress", Val: progress}})
	}
	cancel := make(chan struct{})
	r.mu.Lock()
	r.running[task.Self] = cancel
	r.mu.Unlock()
	go func() {
		ticker := time.NewTicker(tickInterval)
		defer ticker.Stop()
		last := progress
		for {
			select {
			case <-cancel:
				r.end(task, &outcome{&types.RequestCanceled{}, "The task was canceled by a user."})
				return
			case <-ticker.C:
			}
			progress, end := tick(time.Since(start))
			if end != nil {
				r.end(task, end)
				return
			}
			if progress != last {
				setTask(task, []types.PropertyChange{{Name: "info.progress", Val: progress}})
				last = progress
			}
		}
	}()
}

// cancel asks a running task to stop; false when it is not one of ours that still runs.
func (r *taskRunner) cancel(ref types.ManagedObjectReference) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch, ok := r.running[ref]
	if ok {
		delete(r.running, ref)
		close(ch)
	}
	return ok
}

func setTask(task *simulator.Task, changes []types.PropertyChange) {
	simulator.Map.WithLock(task, func() { simulator.Map.Update(task, changes) })
}

func finish(task *simulator.Task, end *outcome) {
	changes := []types.PropertyChange{{Name: "info.completeTime", Val: time.Now()}}
	if end.fault == nil {
		changes = append(changes,
			types.PropertyChange{Name: "info.progress", Val: int32(100)},
			types.PropertyChange{Name: "info.state", Val: types.TaskInfoStateSuccess})
	} else {
		if _, cancelled := end.fault.(*types.RequestCanceled); cancelled {
			changes = append(changes, types.PropertyChange{Name: "info.cancelled", Val: true})
		}
		changes = append(changes,
			types.PropertyChange{Name: "info.error", Val: &types.LocalizedMethodFault{
				Fault: end.fault, LocalizedMessage: end.msg}},
			types.PropertyChange{Name: "info.state", Val: types.TaskInfoStateError})
	}
	setTask(task, changes)
}

// ---- RelocateVM_Task ----------------------------------------------------------------------

// relocation is a checked RelocateVM_Task spec: where the VM goes (unset parts stay as they are).
type relocation struct {
	vm        *simulator.VirtualMachine
	from      *simulator.HostSystem
	to        *simulator.HostSystem
	pool      *simulator.ResourcePool
	datastore *simulator.Datastore // nil: the disks stay
}

func notFound(ref types.ManagedObjectReference) (types.BaseMethodFault, string) {
	return &types.ManagedObjectNotFound{Obj: ref}, "The object has already been deleted or has not been completely created"
}

// notFoundFault is notFound as the SOAP fault a method body carries.
func notFoundFault(ref types.ManagedObjectReference) *soap.Fault {
	fault, msg := notFound(ref)
	return simulator.Fault(msg, fault)
}

// planRelocation checks the spec as vCenter does before it makes a task: every object exists,
// and the host belongs to the compute resource of the pool (the VM's own pool when unset).
func planRelocation(vm *simulator.VirtualMachine, spec types.VirtualMachineRelocateSpec) (
	*relocation, types.BaseMethodFault, string) {
	var r relocation
	r.vm = vm
	var hostRef, poolRef *types.ManagedObjectReference
	simulator.Map.WithLock(vm, func() { hostRef, poolRef = vm.Runtime.Host, vm.ResourcePool })
	if hostRef == nil || poolRef == nil {
		return nil, &types.InvalidState{}, "The operation is not allowed in the current state."
	}
	r.from, _ = simulator.Map.Get(*hostRef).(*simulator.HostSystem)
	r.to = r.from
	if spec.Host != nil {
		if r.to, _ = simulator.Map.Get(*spec.Host).(*simulator.HostSystem); r.to == nil {
			f, msg := notFound(*spec.Host)
			return nil, f, msg
		}
	}
	if spec.Pool != nil {
		poolRef = spec.Pool
	}
	if r.pool, _ = simulator.Map.Get(*poolRef).(*simulator.ResourcePool); r.pool == nil {
		f, msg := notFound(*poolRef)
		return nil, f, msg
	}
	if spec.Datastore != nil {
		if r.datastore, _ = simulator.Map.Get(*spec.Datastore).(*simulator.Datastore); r.datastore == nil {
			f, msg := notFound(*spec.Datastore)
			return nil, f, msg
		}
	}
	if r.from == nil || r.to.Parent == nil || *r.to.Parent != r.pool.Owner {
		return nil, &types.InvalidArgument{InvalidProperty: "spec.host"},
			"A specified parameter was not correct: spec.host"
	}
	return &r, nil, ""
}

// refusal is what a real vCenter's relocation task fails with in the hosts' and datastore's state now.
func (r *relocation) refusal() *outcome {
	for _, h := range []*simulator.HostSystem{r.from, r.to} {
		state, maintenance := hostState(h)
		if state != types.HostSystemConnectionStateConnected {
			return &outcome{&types.InvalidHostConnectionState{InvalidHostState: types.InvalidHostState{Host: &h.Self}},
				fmt.Sprintf("The operation is not allowed in the current connection state of the host %s (%s).",
					h.Name, state)}
		}
		if maintenance && h == r.to && r.to != r.from {
			return &outcome{&types.InvalidHostState{Host: &h.Self},
				fmt.Sprintf("The operation is not allowed in the current state of the host %s (in maintenance mode).",
					h.Name)}
		}
	}
	if r.datastore != nil && !mounts(r.to, r.datastore.Self) {
		return &outcome{&types.DatastoreNotWritableOnHost{
			InvalidDatastore: types.InvalidDatastore{Datastore: &r.datastore.Self, Name: r.datastore.Name},
			Host:             r.to.Self},
			fmt.Sprintf("The datastore %s is not accessible from host %s.", r.datastore.Name, r.to.Name)}
	}
	return nil
}

func hostState(h *simulator.HostSystem) (state types.HostSystemConnectionState, maintenance bool) {
	simulator.Map.WithLock(h, func() { state, maintenance = h.Runtime.ConnectionState, h.Runtime.InMaintenanceMode })
	return state, maintenance
}

func mounts(h *simulator.HostSystem, ds types.ManagedObjectReference) bool {
	found := false
	simulator.Map.WithLock(h, func() { found = simulator.FindReference(h.Datastore, ds) != nil })
	return found
}

// RelocateVMTask answers RelocateVM_Task: a task that runs for the time set_relocate_seconds gives
// (with progress, cancelable), then moves the VM and updates what a real vCenter updates.
func (h *hook) RelocateVMTask(ctx *simulator.Context, req *types.RelocateVM_Task) soap.HasFault {
	vm, ok := simulator.Map.Get(h.target).(*simulator.VirtualMachine)
	if !ok {
		return &methods.RelocateVM_TaskBody{Fault_: notFoundFault(h.target)}
	}
	move, fault, msg := planRelocation(vm, req.Spec)
	if fault != nil {
		return &methods.RelocateVM_TaskBody{Fault_: simulator.Fault(msg, fault)}
	}
	task := newTask(ctx, vm.Self, vm.Name, "relocate", "RelocateVM_Task", true)
	tasks.mu.Lock()
	takes := tasks.relocateTakes
	tasks.mu.Unlock()
	tasks.launch(task, func(elapsed time.Duration) (int32, *outcome) {
		if end := move.refusal(); end != nil {
			return 0, end
		}
		if elapsed < takes {
			return int32(99 * elapsed / takes), nil
		}
		if err := move.apply(); err != nil {
			return 0, &outcome{&types.FileFault{File: err.Error()}, err.Error()}
		}
		return 100, &outcome{}
	})
	return &methods.RelocateVM_TaskBody{Res: &types.RelocateVM_TaskResponse{Returnval: task.Self}}
}

// apply moves the VM: runtime.host, resourcePool, datastore and its files; the vm lists of the
// hosts, pools and datastores it leaves and joins.
func (r *relocation) apply() error {
	vm := r.vm
	var oldDatastores []types.ManagedObjectReference
	var oldPool types.ManagedObjectReference
	var err error
	simulator.Map.WithLock(vm, func() {
		oldDatastores = append(oldDatastores, vm.Datastore...)
		oldPool = *vm.ResourcePool
		changes := []types.PropertyChange{
			{Name: "runtime.host", Val: r.to.Self},
			{Name: "summary.runtime.host", Val: r.to.Self},
			{Name: "resourcePool", Val: r.pool.Self},
		}
		if r.datastore != nil && (len(vm.Datastore) != 1 || vm.Datastore[0] != r.datastore.Self) {
			var files []types.PropertyChange
			if files, err = moveFiles(vm, r.datastore); err != nil {
				return
			}
			changes = append(changes, files...)
			changes = append(changes, types.PropertyChange{Name: "datastore",
				Val: []types.ManagedObjectReference{r.datastore.Self}})
		}
		simulator.Map.Update(vm, changes)
	})
	if err != nil {
		return err
	}
	// Not under the VM's lock: the simulator locks a VM, then its host, never the other way.
	if r.from != r.to {
		listVM(r.from, &r.from.Vm, vm.Self, false)
		listVM(r.to, &r.to.Vm, vm.Self, true)
	}
	if oldPool != r.pool.Self {
		if pool, ok := simulator.Map.Get(oldPool).(*simulator.ResourcePool); ok {
			listVM(pool, &pool.Vm, vm.Self, false)
		}
		listVM(r.pool, &r.pool.Vm, vm.Self, true)
	}
	if r.datastore != nil {
		for _, ref := range oldDatastores {
			if ds, ok := simulator.Map.Get(ref).(*simulator.Datastore); ok && ref != r.datastore.Self {
				listVM(ds, &ds.Vm, vm.Self, false)
			}
		}
		listVM(r.datastore, &r.datastore.Vm, vm.Self, true)
	}
	return nil
}

// listVM adds or removes a VM in an object's "vm" property and announces the new list.
func listVM(obj mo.Reference, field *[]types.ManagedObjectReference, vm types.ManagedObjectReference, add bool) {
	simulator.Map.WithLock(obj, func() {
		list := []types.ManagedObjectReference{}
		for _, ref := range *field {
			if ref != vm {
				list = append(list, ref)
			}
		}
		if add {
			list = append(list, vm)
		}
		simulator.Map.Update(obj, []types.PropertyChange{{Name: "vm", Val: list}})
	})
}

// moveFiles moves the VM's directory to the datastore (called with the VM locked) and returns the
// changes of its file names: vmPathName, the file directories, the disks' backings, layoutEx.
func moveFiles(vm *simulator.VirtualMachine, to *simulator.Datastore) ([]types.PropertyChange, error) {
	name, rest := splitDatastorePath(vm.Config.Files.VmPathName)
	var source *simulator.Datastore
	for _, ref := range vm.Datastore {
		if ds, ok := simulator.Map.Get(ref).(*simulator.Datastore); ok && ds.Name == name {
			source = ds
		}
	}
	if source == nil {
		return nil, fmt.Errorf("datastore %s of %s not found", name, vm.Config.Files.VmPathName)
	}
	dir := filepath.Dir(rest)
	oldDir := filepath.Join(source.Info.GetDatastoreInfo().Url, dir)
	newDir := filepath.Join(to.Info.GetDatastoreInfo().Url, dir)
	if _, err := os.Stat(newDir); err == nil {
		return nil, fmt.Errorf("[%s] %s exists already", to.Name, dir)
	}
	if err := os.Rename(oldDir, newDir); err != nil {
		return nil, err
	}
	rename := func(path string) string {
		return strings.Replace(path, "["+source.Name+"]", "["+to.Name+"]", 1)
	}
	files := vm.Config.Files
	files.VmPathName = rename(files.VmPathName)
	files.LogDirectory, files.SnapshotDirectory = rename(files.LogDirectory), rename(files.SnapshotDirectory)
	files.SuspendDirectory = rename(files.SuspendDirectory)
	for _, device := range vm.Config.Hardware.Device {
		if disk, ok := device.(*types.VirtualDisk); ok {
			if b, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo); ok {
				info := b.GetVirtualDeviceFileBackingInfo()
				info.FileName, info.Datastore = rename(info.FileName), &to.Self
			}
		}
	}
	changes := []types.PropertyChange{
		{Name: "config.files", Val: files},
		{Name: "summary.config.vmPathName", Val: files.VmPathName},
		{Name: "config.hardware.device", Val: vm.Config.Hardware.Device},
	}
	if vm.LayoutEx != nil {
		for i := range vm.LayoutEx.File {
			vm.LayoutEx.File[i].Name = rename(vm.LayoutEx.File[i].Name)
		}
		changes = append(changes, types.PropertyChange{Name: "layoutEx", Val: vm.LayoutEx})
	}
	return changes, nil
}

// splitDatastorePath splits "[name] dir/file" into the datastore's name and the path inside it.
func splitDatastorePath(path string) (string, string) {
	parts := strings.SplitN(strings.TrimPrefix(path, "["), "]", 2)
	if len(parts) != 2 {
		return "", path
	}
	return parts[0], strings.TrimSpace(parts[1])
}

// ---- maintenance mode ---------------------------------------------------------------------

// EnterMaintenanceModeTask answers EnterMaintenanceMode_Task as a real vCenter does: the task runs
// while powered-on VMs are on the host. In a cluster whose DRS is fully automated, DRS moves them
// (and, with evacuatePoweredOffVms, the powered-off ones) to the least loaded host that can take
// them; otherwise the task waits for someone to move or stop them, and fails at the timeout.
func (h *hook) EnterMaintenanceModeTask(ctx *simulator.Context, req *types.EnterMaintenanceMode_Task) soap.HasFault {
	host, ok := simulator.Map.Get(h.target).(*simulator.HostSystem)
	if !ok {
		return &methods.EnterMaintenanceMode_TaskBody{Fault_: notFoundFault(h.target)}
	}
	task := newTask(ctx, host.Self, host.Name, "enterMaintenanceMode", "EnterMaintenanceMode_Task", true)
	evacuateOff := req.EvacuatePoweredOffVms != nil && *req.EvacuatePoweredOffVms
	timeout := time.Duration(req.Timeout) * time.Second
	blocking := len(blockers(host, false))
	tasks.launch(task, func(elapsed time.Duration) (int32, *outcome) {
		state, maintenance := hostState(host)
		if state != types.HostSystemConnectionStateConnected {
			return 0, &outcome{&types.InvalidHostConnectionState{InvalidHostState: types.InvalidHostState{Host: &host.Self}},
				fmt.Sprintf("The operation is not allowed in the current connection state of the host %s (%s).",
					host.Name, state)}
		}
		if maintenance && elapsed == 0 {
			return 0, &outcome{&types.InvalidState{}, "The operation is not allowed in the current state."}
		}
		if drsFullyAutomated(host) {
			for _, vm := range blockers(host, evacuateOff) {
				if to := leastLoaded(host); to != nil {
					_ = (&relocation{vm: vm, from: host, to: to, pool: poolOf(vm)}).apply()
				}
			}
		}
		left := len(blockers(host, false))
		if left == 0 {
			simulator.Map.WithLock(host, func() {
				simulator.Map.Update(host, []types.PropertyChange{{Name: "runtime.inMaintenanceMode", Val: true}})
			})
			return 100, &outcome{}
		}
		if timeout > 0 && elapsed >= timeout {
			return 0, &outcome{&types.Timedout{}, fmt.Sprintf(
				"Operation timed out: %d powered-on VMs are still on %s.", left, host.Name)}
		}
		return int32(2 + 90*(blocking-left)/max(blocking, 1)), nil
	})
	return &methods.EnterMaintenanceMode_TaskBody{Res: &types.EnterMaintenanceMode_TaskResponse{Returnval: task.Self}}
}

// ExitMaintenanceModeTask takes the host out of maintenance mode and announces it; a host not in
// maintenance mode is refused (InvalidState), as on a real vCenter.
func (h *hook) ExitMaintenanceModeTask(ctx *simulator.Context, req *types.ExitMaintenanceMode_Task) soap.HasFault {
	host, ok := simulator.Map.Get(h.target).(*simulator.HostSystem)
	if !ok {
		return &methods.ExitMaintenanceMode_TaskBody{Fault_: notFoundFault(h.target)}
	}
	task := newTask(ctx, host.Self, host.Name, "exitMaintenanceMode", "ExitMaintenanceMode_Task", false)
	tasks.launch(task, func(time.Duration) (int32, *outcome) {
		if _, maintenance := hostState(host); !maintenance {
			return 0, &outcome{&types.InvalidState{}, "The operation is not allowed in the current state."}
		}
		simulator.Map.WithLock(host, func() {
			simulator.Map.Update(host, []types.PropertyChange{{Name: "runtime.inMaintenanceMode", Val: false}})
		})
		return 100, &outcome{}
	})
	return &methods.ExitMaintenanceMode_TaskBody{Res: &types.ExitMaintenanceMode_TaskResponse{Returnval: task.Self}}
}

// blockers are the VMs on the host that keep it from maintenance mode: the powered-on ones, and
// with poweredOff the others too.
func blockers(host *simulator.HostSystem, poweredOff bool) []*simulator.VirtualMachine {
	var found []*simulator.VirtualMachine
	for _, vm := range vmsOn(host.Self) {
		state := types.VirtualMachinePowerStatePoweredOff
		simulator.Map.WithLock(vm, func() { state = vm.Runtime.PowerState })
		if poweredOff || state != types.VirtualMachinePowerStatePoweredOff {
			found = append(found, vm)
		}
	}
	return found
}

func poolOf(vm *simulator.VirtualMachine) *simulator.ResourcePool {
	var ref types.ManagedObjectReference
	simulator.Map.WithLock(vm, func() { ref = *vm.ResourcePool })
	pool, _ := simulator.Map.Get(ref).(*simulator.ResourcePool)
	return pool
}

func drsFullyAutomated(host *simulator.HostSystem) bool {
	c, ok := simulator.Map.Get(*host.Parent).(*simulator.ClusterComputeResource)
	if !ok {
		return false
	}
	full := false
	simulator.Map.WithLock(c, func() {
		if config, ok := c.ConfigurationEx.(*types.ClusterConfigInfoEx); ok {
			full = config.DrsConfig.Enabled != nil && *config.DrsConfig.Enabled &&
				config.DrsConfig.DefaultVmBehavior == types.DrsBehaviorFullyAutomated
		}
	})
	return full
}

// leastLoaded is the connected host of the same cluster, not in maintenance mode, with the fewest VMs.
func leastLoaded(from *simulator.HostSystem) *simulator.HostSystem {
	counts := vmsPerHost()
	var hosts []*simulator.HostSystem
	for _, e := range simulator.Map.All("HostSystem") {
		h := e.(*simulator.HostSystem)
		state, maintenance := hostState(h)
		if h != from && h.Parent != nil && *h.Parent == *from.Parent && !maintenance &&
			state == types.HostSystemConnectionStateConnected {
			hosts = append(hosts, h)
		}
	}
	sort.Slice(hosts, func(i, j int) bool {
		a, b := counts[hosts[i].Self.Value], counts[hosts[j].Self.Value]
		return a < b || a == b && hosts[i].Name < hosts[j].Name
	})
	if len(hosts) == 0 {
		return nil
	}
	return hosts[0]
}

// ---- CancelTask and DRS ---------------------------------------------------------------------

// CancelTask cancels a running cancelable task (the simulator lacks the call). A task that has
// ended is refused with InvalidState, one that cannot be cancelled with NotSupported.
func (h *hook) CancelTask(ctx *simulator.Context, req *types.CancelTask) soap.HasFault {
	task, ok := simulator.Map.Get(h.target).(*simulator.Task)
	if !ok {
		return &methods.CancelTaskBody{Fault_: notFoundFault(h.target)}
	}
	var info types.TaskInfo
	simulator.Map.WithLock(task, func() { info = task.Info })
	if info.State == types.TaskInfoStateSuccess || info.State == types.TaskInfoStateError {
		return &methods.CancelTaskBody{Fault_: simulator.Fault(
			"The operation is not allowed in the current state.", &types.InvalidState{})}
	}
	if !info.Cancelable || !tasks.cancel(task.Self) {
		return &methods.CancelTaskBody{Fault_: simulator.Fault(
			"The operation is not supported on the object.", &types.NotSupported{})}
	}
	setTask(task, []types.PropertyChange{{Name: "info.cancelled", Val: true}})
	return &methods.CancelTaskBody{Res: &types.CancelTaskResponse{}}
}

// setClusterDRS sets configurationEx.drsConfig (enabled, defaultVmBehavior) and announces it.
func setClusterDRS(key string, enabled *bool, behavior string) error {
	c := findCluster(key)
	if c == nil {
		return fmt.Errorf("cluster %q not found", key)
	}
	b := types.DrsBehavior(behavior)
	switch b {
	case types.DrsBehaviorManual, types.DrsBehaviorPartiallyAutomated, types.DrsBehaviorFullyAutomated:
	default:
		return fmt.Errorf("unknown behavior %q: manual, partiallyAutomated or fullyAutomated", behavior)
	}
	var err error
	simulator.Map.WithLock(c, func() {
		config, ok := c.ConfigurationEx.(*types.ClusterConfigInfoEx)
		if !ok {
			err = fmt.Errorf("cluster %q has no ClusterConfigInfoEx", key)
			return
		}
		if enabled != nil {
			config.DrsConfig.Enabled = types.NewBool(*enabled)
		}
		config.DrsConfig.DefaultVmBehavior = b
		simulator.Map.Update(c, []types.PropertyChange{{Name: "configurationEx", Val: config}})
	})
	return err
}

// defaultDRS gives every cluster DRS's default behaviour, fullyAutomated: the VPX model enables
// DRS and leaves defaultVmBehavior unset, which a real vCenter never does. Runs before the server starts.
func defaultDRS() {
	for _, e := range simulator.Map.All("ClusterComputeResource") {
		c := e.(*simulator.ClusterComputeResource)
		if config, ok := c.ConfigurationEx.(*types.ClusterConfigInfoEx); ok && config.DrsConfig.DefaultVmBehavior == "" {
			config.DrsConfig.DefaultVmBehavior = types.DrsBehaviorFullyAutomated
		}
	}
}

func max(a, b int) int {
	if a > b {
		return a
	}
	return b
}
