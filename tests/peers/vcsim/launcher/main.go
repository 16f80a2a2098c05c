// Command hybridview-vcsim serves a govmomi vCenter simulator over TLS on
// loopback for hybridview's peer tests. It prints one JSON "ready" line on
// stdout, then answers JSON control commands read line by line from stdin.
// The simulator's own logging goes to stderr; stdout carries only protocol.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type options struct {
	datacenters, clusters, hosts, standalone, vms int
	datastores                                    int
	listen, username, password, certDir, uuid     string
	datastoreDir                                  string
}

type certFiles struct {
	dir, caFile, certFile string
	thumbprint            string
	owned                 bool // dir was created by us and is removed on exit
	leaf                  tls.Certificate
}

type peer struct {
	model    *simulator.Model
	server   *simulator.Server
	certs    *certFiles
	opts     options
	out      *json.Encoder
	listener *listener
	hooks    *hooks
}

func parseFlags() options {
	var o options
	flag.IntVar(&o.datacenters, "datacenters", 1, "number of datacenters")
	flag.IntVar(&o.clusters, "clusters", 2, "clusters per datacenter")
	flag.IntVar(&o.hosts, "hosts", 3, "hosts per cluster")
	flag.IntVar(&o.standalone, "standalone", 0, "standalone hosts per datacenter")
	flag.IntVar(&o.vms, "vms", 0, "total VMs wanted (rounded up to a multiple of the pool count)")
	flag.IntVar(&o.datastores, "datastores", 1, "datastores per datacenter, each mounted by all its hosts")
	flag.StringVar(&o.listen, "listen", "127.0.0.1:0", "listen address")
	flag.StringVar(&o.username, "username", "", "only this user may log in (with -password)")
	flag.StringVar(&o.password, "password", "", "password for -username")
	flag.StringVar(&o.certDir, "cert-dir", "", "directory for ca.pem/cert.pem (default: temp dir removed on exit)")
	flag.StringVar(&o.uuid, "instance-uuid", "", "content.about.instanceUuid (default: random per run)")
	flag.StringVar(&o.datastoreDir, "datastore-dir", defaultDatastoreDir(),
		"parent dir of the simulated datastores (one small file set per VM)")
	flag.Parse()
	return o
}

// defaultDatastoreDir prefers tmpfs: creating VM files on a real disk makes
// a 5,000 VM start several times slower.
func defaultDatastoreDir() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() && syscall.Access("/dev/shm", 2) == nil {
		return "/dev/shm"
	}
	return os.TempDir()
}

// newModel builds a VPX model; Machine is per cluster root pool and per
// standalone host, so the total is rounded up to a multiple of those.
func newModel(o options) (*simulator.Model, error) {
	m := simulator.VPX()
	m.Datacenter = o.datacenters
	m.Cluster = o.clusters
	m.ClusterHost = o.hosts
	m.Host = o.standalone
	if o.datastores < 1 {
		return nil, errors.New("-datastores must be at least 1")
	}
	m.Datastore = o.datastores
	pools := o.datacenters * (o.clusters + o.standalone)
	if o.vms > 0 && pools == 0 {
		return nil, errors.New("-vms needs at least one cluster or standalone host")
	}
	m.Machine = 0
	if o.vms > 0 {
		m.Machine = (o.vms + pools - 1) / pools
	}
	id := o.uuid
	if id == "" {
		id = uuid.New().String()
	}
	// The simulator serves a fixed instanceUuid unless the model sets one.
	m.ServiceContent.About.InstanceUuid = id
	return m, nil
}

// makeCerts creates a throwaway CA and a leaf for the listen IP plus loopback.
func makeCerts(dir, listenHost string) (*certFiles, error) {
	c := &certFiles{dir: dir}
	if dir == "" {
		d, err := ioutil.TempDir("", "hybridview-vcsim-certs-")
		if err != nil {
			return nil, err
		}
		c.dir, c.owned = d, true
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "hybridview vcsim test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano() + 1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if ip := net.ParseIP(listenHost); ip != nil && !ip.IsLoopback() && !ip.IsUnspecified() {
		leafTmpl.IPAddresses = append(leafTmpl.IPAddresses, ip)
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	c.caFile = filepath.Join(c.dir, "ca.pem")
	c.certFile = filepath.Join(c.dir, "cert.pem")
	if err := writePEM(c.caFile, caDER); err != nil {
		return nil, err
	}
	if err := writePEM(c.certFile, leafDER); err != nil {
		return nil, err
	}
	c.thumbprint = thumbprint(leafDER)
	c.leaf = tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey}
	return c, nil
}

func writePEM(path string, der []byte) error {
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return ioutil.WriteFile(path, data, 0o644)
}

// thumbprint is the colon-separated upper-case SHA-256 of a DER certificate.
func thumbprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

func (p *peer) start() (err error) {
	// The simulator panics when it cannot listen; report that as an error.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	// The simulator puts its datastores under os.TempDir().
	if err := os.Setenv("TMPDIR", p.opts.datastoreDir); err != nil {
		return err
	}
	if err := p.model.Create(); err != nil {
		return fmt.Errorf("model create: %w", err)
	}
	listAllMounts()
	defaultDRS()
	// Both go in before the server exists, so no client's view or collector hears of them.
	p.listener = newListener()
	simulator.Map.AddHandler(p.listener)
	p.hooks = newHooks()
	grantAdminAtRoot(p.opts.username)
	svc := p.model.Service
	svc.TLS = &tls.Config{Certificates: []tls.Certificate{p.certs.leaf}}
	svc.Listen = &url.URL{Host: p.opts.listen}
	if p.opts.username != "" || p.opts.password != "" {
		svc.Listen.User = url.UserPassword(p.opts.username, p.opts.password)
	}
	p.server = svc.NewServer()
	p.frontSDK(svc)
	return nil
}

func (p *peer) instanceUUID() string {
	si := simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance)
	return si.Content.About.InstanceUuid
}

func (p *peer) readyLine() map[string]interface{} {
	u := p.server.URL
	_, port, _ := net.SplitHostPort(u.Host)
	var portNum int
	fmt.Sscanf(port, "%d", &portNum)
	hosts, clusters := p.hostInfos(), p.clusterInfos()
	return map[string]interface{}{
		"ready":             true,
		"url":               fmt.Sprintf("https://%s%s", u.Host, u.Path),
		"host":              u.Hostname(),
		"port":              portNum,
		"ca_file":           p.certs.caFile,
		"cert_file":         p.certs.certFile,
		"thumbprint_sha256": p.certs.thumbprint,
		"instance_uuid":     p.instanceUUID(),
		"datacenters":       len(simulator.Map.All("Datacenter")),
		"clusters":          len(clusters),
		"hosts":             len(hosts),
		"vms":               len(simulator.Map.All("VirtualMachine")),
		"datastores":        len(simulator.Map.All("Datastore")),
		"pid":               os.Getpid(),
		"datastore_dir":     p.opts.datastoreDir,
	}
}

type hostInfo struct {
	Name            string `json:"name"`
	Moref           string `json:"moref"`
	ClusterMoref    string `json:"cluster_moref"`
	ConnectionState string `json:"connection_state"`
	InMaintenance   bool   `json:"in_maintenance"`
	VMs             int    `json:"vms"`
}

type clusterInfo struct {
	Name  string `json:"name"`
	Moref string `json:"moref"`
	Hosts int    `json:"hosts"`
	VMs   int    `json:"vms"`
}

type vmInfo struct {
	Name            string   `json:"name"`
	Moref           string   `json:"moref"`
	InstanceUUID    string   `json:"instance_uuid"`
	Host            string   `json:"host"`
	PowerState      string   `json:"power_state"`
	ConnectionState string   `json:"connection_state"`
	VmxPath         string   `json:"vmx_path"`
	Datastores      []string `json:"datastores"`
}

func allVMs() []*simulator.VirtualMachine {
	var vms []*simulator.VirtualMachine
	for _, e := range simulator.Map.All("VirtualMachine") {
		vms = append(vms, e.(*simulator.VirtualMachine))
	}
	return vms
}

// vmsPerHost counts VMs by runtime.host (HostSystem.vm can be stale).
func vmsPerHost() map[string]int {
	counts := map[string]int{}
	for _, vm := range allVMs() {
		simulator.Map.WithLock(vm, func() {
			if vm.Runtime.Host != nil {
				counts[vm.Runtime.Host.Value]++
			}
		})
	}
	return counts
}

// vmsOn lists the VMs whose runtime.host is the host.
func vmsOn(host types.ManagedObjectReference) []*simulator.VirtualMachine {
	var on []*simulator.VirtualMachine
	for _, vm := range allVMs() {
		simulator.Map.WithLock(vm, func() {
			if vm.Runtime.Host != nil && *vm.Runtime.Host == host {
				on = append(on, vm)
			}
		})
	}
	return on
}

func vmInfos() []vmInfo {
	infos := []vmInfo{}
	for _, vm := range allVMs() {
		simulator.Map.WithLock(vm, func() {
			info := vmInfo{Name: vm.Name, Moref: vm.Self.Value, PowerState: string(vm.Runtime.PowerState),
				ConnectionState: string(vm.Runtime.ConnectionState)}
			if vm.Config != nil {
				info.InstanceUUID, info.VmxPath = vm.Config.InstanceUuid, vm.Config.Files.VmPathName
			}
			if vm.Runtime.Host != nil {
				info.Host = vm.Runtime.Host.Value
			}
			info.Datastores = []string{}
			for _, ds := range vm.Datastore {
				info.Datastores = append(info.Datastores, ds.Value)
			}
			infos = append(infos, info)
		})
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
	return infos
}

func (p *peer) hostInfos() []hostInfo {
	counts := vmsPerHost()
	infos := []hostInfo{}
	for _, e := range simulator.Map.All("HostSystem") {
		h := e.(*simulator.HostSystem)
		simulator.Map.WithLock(h, func() {
			info := hostInfo{Name: h.Name, Moref: h.Self.Value, VMs: counts[h.Self.Value],
				ConnectionState: string(h.Runtime.ConnectionState), InMaintenance: h.Runtime.InMaintenanceMode}
			if h.Parent != nil && h.Parent.Type == "ClusterComputeResource" {
				info.ClusterMoref = h.Parent.Value
			}
			infos = append(infos, info)
		})
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
	return infos
}

func (p *peer) clusterInfos() []clusterInfo {
	byCluster := map[string]*clusterInfo{}
	infos := []*clusterInfo{}
	for _, e := range simulator.Map.All("ClusterComputeResource") {
		c := e.(*simulator.ClusterComputeResource)
		info := &clusterInfo{Name: c.Name, Moref: c.Self.Value}
		byCluster[c.Self.Value] = info
		infos = append(infos, info)
	}
	for _, h := range p.hostInfos() {
		if c := byCluster[h.ClusterMoref]; c != nil {
			c.Hosts++
			c.VMs += h.VMs
		}
	}
	out := make([]clusterInfo, len(infos))
	for i, c := range infos {
		out[i] = *c
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func findHost(key string) *simulator.HostSystem {
	for _, e := range simulator.Map.All("HostSystem") {
		h := e.(*simulator.HostSystem)
		if h.Name == key || h.Self.Value == key {
			return h
		}
	}
	return nil
}

func findCluster(key string) *simulator.ClusterComputeResource {
	for _, e := range simulator.Map.All("ClusterComputeResource") {
		c := e.(*simulator.ClusterComputeResource)
		if c.Name == key || c.Self.Value == key {
			return c
		}
	}
	return nil
}

// findVM takes a moref, or a name that only one VM has.
func findVM(key string) (*simulator.VirtualMachine, error) {
	var named []*simulator.VirtualMachine
	for _, vm := range allVMs() {
		if vm.Self.Value == key {
			return vm, nil
		}
		if vm.Name == key {
			named = append(named, vm)
		}
	}
	switch len(named) {
	case 0:
		return nil, fmt.Errorf("vm %q not found", key)
	case 1:
		return named[0], nil
	}
	return nil, fmt.Errorf("%d VMs are named %q: use a moref", len(named), key)
}

// setHostState pushes the change through Map.Update so property collectors
// and WaitForUpdatesEx filters see it. As on a real vCenter (and unlike the
// simulator alone), the host's VMs follow: disconnected while it does not
// answer, connected again when it does.
func setHostState(key, state string) error {
	cs := types.HostSystemConnectionState(state)
	switch cs {
	case types.HostSystemConnectionStateConnected, types.HostSystemConnectionStateDisconnected,
		types.HostSystemConnectionStateNotResponding:
	default:
		return fmt.Errorf("unknown connection_state %q", state)
	}
	h := findHost(key)
	if h == nil {
		return fmt.Errorf("host %q not found", key)
	}
	status := types.ManagedEntityStatusGreen
	vmState := types.VirtualMachineConnectionStateConnected
	if cs != types.HostSystemConnectionStateConnected {
		status = types.ManagedEntityStatusRed
		vmState = types.VirtualMachineConnectionStateDisconnected
	}
	simulator.Map.WithLock(h, func() {
		// summary.runtime is a pointer to runtime, so both stay consistent.
		simulator.Map.Update(h, []types.PropertyChange{
			{Name: "runtime.connectionState", Val: cs},
			{Name: "summary.runtime.connectionState", Val: cs},
			{Name: "summary.overallStatus", Val: status},
			{Name: "overallStatus", Val: status},
		})
		if h.Summary.Runtime != nil && h.Summary.Runtime != &h.Runtime {
			h.Summary.Runtime.ConnectionState = cs
		}
	})
	// Not under the host's lock: the simulator locks a VM, then its host (UnregisterVM).
	for _, vm := range vmsOn(h.Self) {
		simulator.Map.WithLock(vm, func() {
			// A VM's summary.runtime is a copy of its runtime, not a pointer: set both.
			simulator.Map.Update(vm, []types.PropertyChange{
				{Name: "runtime.connectionState", Val: vmState},
				{Name: "summary.runtime.connectionState", Val: vmState},
			})
		})
	}
	return nil
}

// setClusterHA sets configurationEx.dasConfig.enabled (the VPX model leaves it unset, which reads
// as HA off). It is only the flag: no HA agent restarts anything.
func setClusterHA(key string, enabled *bool) error {
	if enabled == nil {
		return errors.New(`set_cluster_ha needs "enabled": true or false`)
	}
	c := findCluster(key)
	if c == nil {
		return fmt.Errorf("cluster %q not found", key)
	}
	var err error
	simulator.Map.WithLock(c, func() {
		config, ok := c.ConfigurationEx.(*types.ClusterConfigInfoEx)
		if !ok {
			err = fmt.Errorf("cluster %q has no ClusterConfigInfoEx", key)
			return
		}
		config.DasConfig.Enabled = types.NewBool(*enabled)
		// The whole property, so a filter on configurationEx (or below it) hears of the change.
		simulator.Map.Update(c, []types.PropertyChange{{Name: "configurationEx", Val: config}})
	})
	return err
}

// setInstanceUUID gives a VM an instanceUuid (e.g. its Nova instance's id), seen by reads and feeds.
func setInstanceUUID(key, id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return fmt.Errorf("instance_uuid %q is not a UUID", id)
	}
	vm, err := findVM(key)
	if err != nil {
		return err
	}
	simulator.Map.WithLock(vm, func() {
		simulator.Map.Update(vm, []types.PropertyChange{
			{Name: "config.instanceUuid", Val: id},
			{Name: "summary.config.instanceUuid", Val: id},
		})
	})
	return nil
}

// ---- where the simulator alone differs from a real vCenter ------------------------------
//
// govmomi 0.24.2's simulator differs from a real vCenter in a few calls hybridview makes to
// restart the VMs of a dead host (README "Made faithful"). The launcher fixes them with the
// simulator's own extension points, never by changing the simulator's objects' types:
//   - listener, a registry handler, sees every object change: it remembers a VM's
//     instanceUuid when the VM leaves the inventory and gives it back when its .vmx is
//     registered again, and tells WaitForUpdatesEx what ReconfigVM_Task changed.
//   - hooks answer FindAllByUuid (missing) and UnregisterVM (refuses a VM of a dead host):
//     frontSDK sends those calls to a hook object after the simulator's own session check.
// (Map.Put of a wrapper over a live VM, the simulator's documented way to override a method,
// makes every open ContainerView list that VM twice and keep a stale entry after it is
// unregistered; a hook object is in no view.)

const hookType = "HybridviewHook"

// listener is a simulator.RegisterObject: the registry calls it on every put, update and remove.
type listener struct {
	self  types.ManagedObjectReference
	mu    sync.Mutex
	uuids map[string]string // .vmx path -> instanceUuid of the VM last removed from the inventory
}

func newListener() *listener {
	return &listener{self: types.ManagedObjectReference{Type: hookType, Value: "listener"}, uuids: map[string]string{}}
}

func (l *listener) Reference() types.ManagedObjectReference { return l.self }

func (l *listener) PutObject(mo.Reference) {}

// RemoveObject runs before the registry drops the object, so the VM can still be read. A real
// vCenter keeps the instanceUuid in the .vmx (vc.uuid); this map plays that part.
func (l *listener) RemoveObject(ref types.ManagedObjectReference) {
	if ref.Type != "VirtualMachine" {
		return
	}
	vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	if !ok || vm.Config == nil || vm.Config.InstanceUuid == "" {
		return
	}
	if vm.EnvironmentBrowser.Value == "" {
		return // a register that failed: the simulator drops the VM it had begun, which never held the .vmx
	}
	l.mu.Lock()
	l.uuids[vm.Config.Files.VmPathName] = vm.Config.InstanceUuid
	l.mu.Unlock()
}

// UpdateObject acts when a task ends well; it runs inside the call that ran the task, before
// its answer leaves, with that call's object locked (so it locks nothing itself).
func (l *listener) UpdateObject(obj mo.Reference, changes []types.PropertyChange) {
	task, ok := obj.(*mo.Task)
	if !ok || !succeeded(changes) {
		return
	}
	switch task.Info.DescriptionId {
	case "Folder.registerVm":
		if ref, ok := task.Info.Result.(types.ManagedObjectReference); ok {
			l.restoreInstanceUUID(ref)
		}
	case "VirtualMachine.reconfigVm":
		if task.Info.Entity != nil {
			announceConfig(*task.Info.Entity)
		}
	}
}

func succeeded(changes []types.PropertyChange) bool {
	for _, c := range changes {
		if c.Name == "info.state" && c.Val == types.TaskInfoStateSuccess {
			return true
		}
	}
	return false
}

// restoreInstanceUUID gives a newly registered VM the instanceUuid its .vmx held, where the
// simulator derives one from the path. Like vCenter, it keeps the new one when another VM
// has that instanceUuid already.
func (l *listener) restoreInstanceUUID(ref types.ManagedObjectReference) {
	vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	if !ok || vm.Config == nil {
		return
	}
	l.mu.Lock()
	id := l.uuids[vm.Config.Files.VmPathName]
	delete(l.uuids, vm.Config.Files.VmPathName) // the VM holds it now; it is remembered again when it leaves
	l.mu.Unlock()
	if id == "" || id == vm.Config.InstanceUuid {
		return
	}
	for _, other := range allVMs() {
		if other != vm && other.Config != nil && strings.EqualFold(other.Config.InstanceUuid, id) {
			return
		}
	}
	simulator.Map.Update(vm, []types.PropertyChange{
		{Name: "config.instanceUuid", Val: id},
		{Name: "summary.config.instanceUuid", Val: id},
	})
}

// announceConfig tells collectors the config values a ReconfigVM_Task may have changed: the
// simulator applies the spec in place, so only full reads saw them.
func announceConfig(ref types.ManagedObjectReference) {
	vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	if !ok || vm.Config == nil {
		return
	}
	changes := []types.PropertyChange{
		{Name: "name", Val: vm.Name},
		{Name: "config.name", Val: vm.Config.Name},
		{Name: "config.instanceUuid", Val: vm.Config.InstanceUuid},
		{Name: "summary.config.instanceUuid", Val: vm.Config.InstanceUuid},
		{Name: "config.uuid", Val: vm.Config.Uuid},
		{Name: "config.hardware.numCPU", Val: vm.Config.Hardware.NumCPU},
		{Name: "config.hardware.memoryMB", Val: vm.Config.Hardware.MemoryMB},
	}
	// the reservations, by their leaf paths: a filter on a leaf hears only a change named by it or below it
	for path, allocation := range map[string]*types.ResourceAllocationInfo{
		"config.memoryAllocation.reservation": vm.Config.MemoryAllocation,
		"config.cpuAllocation.reservation":    vm.Config.CpuAllocation,
	} {
		if allocation != nil && allocation.Reservation != nil {
			changes = append(changes, types.PropertyChange{Name: path, Val: *allocation.Reservation})
		}
	}
	simulator.Map.Update(vm, changes)
}

// listAllMounts makes Datastore.host name every host that mounts the datastore. The VPX model
// gives each datacenter one LocalDS_N that all its hosts mount (each host's "datastore" lists
// it), but every host's CreateLocalDatastore replaced the object, so only the last host was
// listed, and multipleHostAccess was unset. Runs before the server starts.
func listAllMounts() {
	mounts := map[types.ManagedObjectReference][]types.ManagedObjectReference{}
	for _, e := range simulator.Map.All("HostSystem") {
		h := e.(*simulator.HostSystem)
		for _, ds := range h.Datastore {
			mounts[ds] = append(mounts[ds], h.Self)
		}
	}
	for _, e := range simulator.Map.All("Datastore") {
		ds := e.(*simulator.Datastore)
		hosts := mounts[ds.Self]
		if len(hosts) == 0 {
			continue
		}
		sort.Slice(hosts, func(i, j int) bool { return hosts[i].Value < hosts[j].Value })
		ds.Host = nil
		for _, h := range hosts {
			ds.Host = append(ds.Host, types.DatastoreHostMount{Key: h, MountInfo: types.HostMountInfo{
				AccessMode: string(types.HostMountModeReadWrite),
				Mounted:    types.NewBool(true),
				Accessible: types.NewBool(true),
			}})
		}
		ds.Summary.MultipleHostAccess = types.NewBool(len(hosts) > 1)
	}
}

// hooks hold one hook object per managed object whose calls the launcher answers.
type hooks struct {
	mu sync.Mutex
}

// newHooks makes the SearchIndex's hook at start, before any client listens.
func newHooks() *hooks {
	h := &hooks{}
	si := simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance)
	if si.Content.SearchIndex != nil {
		h.hookFor(*si.Content.SearchIndex)
	}
	return h
}

// hook answers calls addressed to target; its moref is {HybridviewHook, "<type>:<value>"}. It
// embeds an mo type first because the simulator's searches reflect over every registered object.
type hook struct {
	mo.ExtensibleManagedObject
	target types.ManagedObjectReference
}

func (hs *hooks) hookFor(target types.ManagedObjectReference) types.ManagedObjectReference {
	ref := types.ManagedObjectReference{Type: hookType, Value: target.Type + ":" + target.Value}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if simulator.Map.Get(ref) == nil {
		h := &hook{target: target}
		h.Self = ref
		simulator.Map.Put(h)
	}
	return ref
}

// hooked says whether the launcher answers this call instead of the simulator.
func hooked(method *simulator.Method) bool {
	switch {
	case method.Name == "FindAllByUuid" && method.This.Type == "SearchIndex":
		return true
	case method.Name == "UnregisterVM" && method.This.Type == "VirtualMachine":
		return simulator.Map.Get(method.This) != nil // else the simulator's own "not found"
	case moveHooks[method.Name] == method.This.Type, capacityHooks[method.Name] == method.This.Type:
		return simulator.Map.Get(method.This) != nil
	case privilegeHooks[method.Name] == method.This.Type:
		return loginUser != "" // else the simulator's own grant-all
	}
	return false
}

func mentionsHookedMethod(body []byte) bool {
	for _, name := range []string{"FindAllByUuid", "UnregisterVM"} {
		if bytes.Contains(body, []byte(name)) {
			return true
		}
	}
	for _, table := range []map[string]string{moveHooks, privilegeHooks, capacityHooks} {
		for name := range table {
			if bytes.Contains(body, []byte(name)) {
				return true
			}
		}
	}
	return false
}

var thisElement = regexp.MustCompile(`<(?:\w+:)?_this\b[^>]*>[^<]*</(?:\w+:)?_this>`)

// retarget rewrites a hooked call's _this to its hook; any other body is returned as it is.
func (hs *hooks) retarget(body []byte) []byte {
	if !mentionsHookedMethod(body) {
		return body
	}
	method, err := simulator.UnmarshalBody(types.TypeFunc(), body)
	if err != nil || !hooked(method) {
		return body
	}
	at := thisElement.FindIndex(body)
	if at == nil {
		return body
	}
	ref := hs.hookFor(method.This)
	this := fmt.Sprintf(`<_this type="%s">%s</_this>`, ref.Type, ref.Value)
	return append(append(append([]byte{}, body[:at[0]]...), this...), body[at[1]:]...)
}

// frontSDK puts retarget in front of the simulator's /sdk handler. A host-specific ServeMux
// pattern wins over the plain "/sdk" one, and ServeMux takes new patterns while serving.
func (p *peer) frontSDK(svc *simulator.Service) {
	hostnames := map[string]bool{"127.0.0.1": true, "localhost": true, "::1": true}
	if host, _, err := net.SplitHostPort(p.server.URL.Host); err == nil {
		hostnames[host] = true
	}
	front := func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, err := ioutil.ReadAll(r.Body)
			_ = r.Body.Close()
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			body = p.hooks.retarget(body)
			r.Body, r.ContentLength = ioutil.NopCloser(bytes.NewReader(body)), int64(len(body))
		}
		svc.ServeSDK(w, r)
	}
	for host := range hostnames {
		for _, path := range []string{simulator.Map.Path, simulator.Map.Path + "/vimService"} {
			svc.ServeMux.HandleFunc(host+path, front)
		}
	}
}

// FindAllByUuid answers as a real vCenter does (the simulator has only FindByUuid): every VM
// (vmSearch) or host with that BIOS uuid, or instanceUuid when asked, in the datacenter if given.
func (h *hook) FindAllByUuid(ctx *simulator.Context, req *types.FindAllByUuid) soap.HasFault {
	found := []types.ManagedObjectReference{}
	byInstance := req.InstanceUuid != nil && *req.InstanceUuid
	if req.VmSearch {
		for _, vm := range allVMs() {
			if vm.Config == nil {
				continue
			}
			id := vm.Config.Uuid
			if byInstance {
				id = vm.Config.InstanceUuid
			}
			if strings.EqualFold(id, req.Uuid) && inDatacenter(vm.Self, req.Datacenter) {
				found = append(found, vm.Self)
			}
		}
	} else {
		for _, e := range simulator.Map.All("HostSystem") {
			host := e.(*simulator.HostSystem)
			if host.Summary.Hardware != nil && strings.EqualFold(host.Summary.Hardware.Uuid, req.Uuid) &&
				inDatacenter(host.Self, req.Datacenter) {
				found = append(found, host.Self)
			}
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Value < found[j].Value })
	return &methods.FindAllByUuidBody{Res: &types.FindAllByUuidResponse{Returnval: found}}
}

func inDatacenter(ref types.ManagedObjectReference, dc *types.ManagedObjectReference) bool {
	if dc == nil {
		return true
	}
	for {
		e, ok := simulator.Map.Get(ref).(mo.Entity)
		if !ok || e.Entity().Parent == nil {
			return false
		}
		ref = *e.Entity().Parent
		if ref == *dc {
			return true
		}
	}
}

// UnregisterVM lets "Remove from inventory" take a VM whose host does not answer, as a real
// vCenter does: its last known power state is still poweredOn, which the simulator refuses.
// For that call only the simulator sees it poweredOff (the VM is gone when the call returns).
func (h *hook) UnregisterVM(ctx *simulator.Context, req *types.UnregisterVM) soap.HasFault {
	ref := h.target
	vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	if !ok {
		fault := &types.ManagedObjectNotFound{Obj: ref}
		return &methods.UnregisterVMBody{Fault_: simulator.Fault("managed object not found: "+ref.String(), fault)}
	}
	var res soap.HasFault
	ctx.Caller = &ref // as the simulator's dispatcher does: the VM is locked here, not again inside
	simulator.Map.WithLock(vm, func() {
		lost := vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn && !hostAnswers(vm)
		if lost {
			vm.Runtime.PowerState = types.VirtualMachinePowerStatePoweredOff
		}
		res = vm.UnregisterVM(ctx, &types.UnregisterVM{This: ref})
		if lost && res.Fault() != nil {
			vm.Runtime.PowerState = types.VirtualMachinePowerStatePoweredOn
		}
	})
	return res
}

func hostAnswers(vm *simulator.VirtualMachine) bool {
	if vm.Runtime.Host == nil {
		return false
	}
	host, ok := simulator.Map.Get(*vm.Runtime.Host).(*simulator.HostSystem)
	if !ok {
		return false
	}
	state := types.HostSystemConnectionStateConnected
	simulator.Map.WithLock(host, func() { state = host.Runtime.ConnectionState })
	return state == types.HostSystemConnectionStateConnected
}

// terminateSessions logs in over the API, terminates every other session
// via SessionManager.TerminateSession, then logs itself out.
func (p *peer) terminateSessions() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u := *p.server.URL
	sc := soap.NewClient(&u, false)
	if err := sc.SetRootCAs(p.certs.caFile); err != nil {
		return 0, err
	}
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return 0, err
	}
	mgr := session.NewManager(vc)
	if err := mgr.Login(ctx, u.User); err != nil {
		return 0, err
	}
	defer mgr.Logout(ctx)
	var sm mo.SessionManager
	pc := property.DefaultCollector(vc)
	props := []string{"sessionList", "currentSession"}
	if err := pc.RetrieveOne(ctx, mgr.Reference(), props, &sm); err != nil {
		return 0, err
	}
	var ids []string
	for _, s := range sm.SessionList {
		if sm.CurrentSession == nil || s.Key != sm.CurrentSession.Key {
			ids = append(ids, s.Key)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	return len(ids), mgr.TerminateSession(ctx, ids)
}

type command struct {
	Op              string  `json:"op"`
	Host            string  `json:"host"`
	ConnectionState string  `json:"connection_state"`
	Cluster         string  `json:"cluster"`
	Enabled         *bool   `json:"enabled"`
	VM              string  `json:"vm"`
	InstanceUUID    string  `json:"instance_uuid"`
	Behavior        string  `json:"behavior"`
	Seconds         float64 `json:"seconds"`
	MemoryMB        *int32  `json:"memory_mb"`
	CPUMHz          *int32  `json:"cpu_mhz"`
}

func fail(err error) map[string]interface{} {
	return map[string]interface{}{"ok": false, "error": err.Error()}
}

// handle runs one control command; the bool is false when the peer must stop.
func (p *peer) handle(line string) (map[string]interface{}, bool) {
	var cmd command
	if err := json.Unmarshal([]byte(line), &cmd); err != nil {
		return fail(fmt.Errorf("bad command: %v", err)), true
	}
	switch cmd.Op {
	case "set_host_state":
		if err := setHostState(cmd.Host, cmd.ConnectionState); err != nil {
			return fail(err), true
		}
		return map[string]interface{}{"ok": true}, true
	case "set_cluster_ha":
		if err := setClusterHA(cmd.Cluster, cmd.Enabled); err != nil {
			return fail(err), true
		}
		return map[string]interface{}{"ok": true}, true
	case "set_instance_uuid":
		if err := setInstanceUUID(cmd.VM, cmd.InstanceUUID); err != nil {
			return fail(err), true
		}
		return map[string]interface{}{"ok": true}, true
	case "set_cluster_drs":
		if err := setClusterDRS(cmd.Cluster, cmd.Enabled, cmd.Behavior); err != nil {
			return fail(err), true
		}
		return map[string]interface{}{"ok": true}, true
	case "set_vm_usage":
		if err := setVMUsage(cmd.VM, cmd.MemoryMB, cmd.CPUMHz); err != nil {
			return fail(err), true
		}
		return map[string]interface{}{"ok": true}, true
	case "set_relocate_seconds":
		if err := tasks.setRelocateSeconds(cmd.Seconds); err != nil {
			return fail(err), true
		}
		return map[string]interface{}{"ok": true}, true
	case "list_vms":
		return map[string]interface{}{"ok": true, "vms": vmInfos()}, true
	case "list_hosts":
		return map[string]interface{}{"ok": true, "hosts": p.hostInfos()}, true
	case "list_clusters":
		return map[string]interface{}{"ok": true, "clusters": p.clusterInfos()}, true
	case "terminate_sessions":
		n, err := p.terminateSessions()
		if err != nil {
			return fail(err), true
		}
		return map[string]interface{}{"ok": true, "terminated": n}, true
	case "ping":
		return map[string]interface{}{"ok": true}, true
	case "quit":
		return map[string]interface{}{"ok": true}, false
	}
	return fail(fmt.Errorf("unknown op %q", cmd.Op)), true
}

// serveStdin answers commands until quit or EOF.
func (p *peer) serveStdin() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		res, more := p.handle(line)
		_ = p.out.Encode(res)
		if !more {
			return
		}
	}
}

// shutdown stops the server (bounded: long WaitForUpdatesEx calls would block
// Close) and removes temp datastores and owned cert files.
func (p *peer) shutdown() {
	if p.server != nil {
		done := make(chan struct{})
		go func() { p.server.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			log.Print("server close timed out; exiting anyway")
		}
	}
	if p.model != nil {
		p.model.Remove()
	}
	if p.certs != nil && p.certs.owned {
		_ = os.RemoveAll(p.certs.dir)
	}
}

func run() int {
	log.SetOutput(os.Stderr)
	log.SetPrefix("vcsim: ")
	opts := parseFlags()
	out := json.NewEncoder(os.Stdout)
	m, err := newModel(opts)
	if err != nil {
		_ = out.Encode(map[string]interface{}{"ready": false, "error": err.Error()})
		return 2
	}
	host, _, _ := net.SplitHostPort(opts.listen)
	certs, err := makeCerts(opts.certDir, host)
	if err != nil {
		_ = out.Encode(map[string]interface{}{"ready": false, "error": err.Error()})
		return 1
	}
	p := &peer{model: m, certs: certs, opts: opts, out: out}
	defer p.shutdown()
	if err := p.start(); err != nil {
		_ = out.Encode(map[string]interface{}{"ready": false, "error": err.Error()})
		return 1
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	_ = out.Encode(p.readyLine())
	go func() { p.serveStdin(); close(done) }()
	select {
	case <-done:
	case s := <-signals:
		log.Printf("got %v, shutting down", s)
	}
	return 0
}

func main() {
	os.Exit(run())
}
