// Command hybridview-vcsim serves a govmomi vCenter simulator over TLS on
// loopback for hybridview's peer tests. It prints one JSON "ready" line on
// stdout, then answers JSON control commands read line by line from stdin.
// The simulator's own logging goes to stderr; stdout carries only protocol.
package main

import (
	"bufio"
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
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type options struct {
	datacenters, clusters, hosts, standalone, vms int
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
	model  *simulator.Model
	server *simulator.Server
	certs  *certFiles
	opts   options
	out    *json.Encoder
}

func parseFlags() options {
	var o options
	flag.IntVar(&o.datacenters, "datacenters", 1, "number of datacenters")
	flag.IntVar(&o.clusters, "clusters", 2, "clusters per datacenter")
	flag.IntVar(&o.hosts, "hosts", 3, "hosts per cluster")
	flag.IntVar(&o.standalone, "standalone", 0, "standalone hosts per datacenter")
	flag.IntVar(&o.vms, "vms", 0, "total VMs wanted (rounded up to a multiple of the pool count)")
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
	svc := p.model.Service
	svc.TLS = &tls.Config{Certificates: []tls.Certificate{p.certs.leaf}}
	svc.Listen = &url.URL{Host: p.opts.listen}
	if p.opts.username != "" || p.opts.password != "" {
		svc.Listen.User = url.UserPassword(p.opts.username, p.opts.password)
	}
	p.server = svc.NewServer()
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
		"pid":               os.Getpid(),
		"datastore_dir":     p.opts.datastoreDir,
	}
}

type hostInfo struct {
	Name            string `json:"name"`
	Moref           string `json:"moref"`
	ClusterMoref    string `json:"cluster_moref"`
	ConnectionState string `json:"connection_state"`
	VMs             int    `json:"vms"`
}

type clusterInfo struct {
	Name  string `json:"name"`
	Moref string `json:"moref"`
	Hosts int    `json:"hosts"`
	VMs   int    `json:"vms"`
}

// vmsPerHost counts VMs by runtime.host (HostSystem.vm can be stale).
func vmsPerHost() map[string]int {
	counts := map[string]int{}
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		simulator.Map.WithLock(vm, func() {
			if vm.Runtime.Host != nil {
				counts[vm.Runtime.Host.Value]++
			}
		})
	}
	return counts
}

func (p *peer) hostInfos() []hostInfo {
	counts := vmsPerHost()
	infos := []hostInfo{}
	for _, e := range simulator.Map.All("HostSystem") {
		h := e.(*simulator.HostSystem)
		simulator.Map.WithLock(h, func() {
			info := hostInfo{Name: h.Name, Moref: h.Self.Value, VMs: counts[h.Self.Value],
				ConnectionState: string(h.Runtime.ConnectionState)}
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

// setHostState pushes the change through Map.Update so property collectors
// and WaitForUpdatesEx filters see it.
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
	if cs != types.HostSystemConnectionStateConnected {
		status = types.ManagedEntityStatusRed
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
	return nil
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
	Op              string `json:"op"`
	Host            string `json:"host"`
	ConnectionState string `json:"connection_state"`
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
