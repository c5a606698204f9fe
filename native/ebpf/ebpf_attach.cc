// Attach calls, each returning what detaches it: a bpf_link fd (tcx, XDP, cgroup hooks; closing
// the last fd detaches, so a killed process leaves nothing attached) or, for the cls_bpf fallback
// on kernels without tcx, the filter's handle and priority for detachTcLegacy.
//
// Host safety is enforced here as well as in TypeScript (dataplane/ebpf/guard.ts): interfaces are
// named by (kdp namespace, ifname) and looked up from a dedicated thread that has entered that
// namespace with setns, refusing any namespace that is not /run/netns/kdp-* or that is the host's
// own (same inode as /proc/1/ns/net or this process's); cgroups must resolve to a directory strictly
// under /sys/fs/cgroup/unified/kdp/ on a cgroup2 filesystem, never the root cgroup.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <thread>

#include "ebpf_common.h"

namespace kdp_ebpf {
namespace {

// The kernel's numbers (include/uapi/linux/bpf.h); Debian 12's headers predate tcx (Linux 6.6).
constexpr int kAttachTcxIngress = 46;
constexpr int kAttachTcxEgress = 47;
constexpr const char* kNetnsDir = "/run/netns/";
constexpr const char* kCgroupRoot = "/sys/fs/cgroup/unified/kdp/";

bool sameInode(const struct stat& a, const char* path) {
  struct stat b;
  return stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Runs `fn` on a new thread inside network namespace `name` (must be kdp-*); the calling thread's
// namespace never changes. Returns fn's result; a refusal or failure throws on the JS thread.
template <typename Fn>
int inKdpNetns(Napi::Env env, const std::string& name, Fn fn) {
  if (name.rfind("kdp-", 0) != 0 || name.find('/') != std::string::npos || name.size() > NAME_MAX) {
    typeError(env, "namespace \"" + name + "\" is not a kdp namespace (kdp-*): kdp attaches only inside its own");
  }
  std::string path = kNetnsDir + name;
  int nsfd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) sysError(env, "open " + path, errno);
  struct stat st;
  if (fstat(nsfd, &st) != 0 || sameInode(st, "/proc/1/ns/net") || sameInode(st, "/proc/self/ns/net")) {
    close(nsfd);
    throw Napi::Error::New(env, "namespace " + name + " is the host's network namespace: refusing to attach there");
  }
  int result = -1, err = 0;
  std::string what;
  std::thread worker([&] {
    if (setns(nsfd, CLONE_NEWNET) != 0) {
      err = errno;
      what = "setns " + path;
      return;
    }
    result = fn(err, what);
  });
  worker.join();
  close(nsfd);
  if (err) sysError(env, what, err);
  return result;
}

int ifindexOf(const std::string& ifname, int& err, std::string& what) {
  unsigned idx = if_nametoindex(ifname.c_str());
  if (idx == 0) {
    err = errno;
    what = "interface " + ifname;
  }
  return static_cast<int>(idx);
}

// attachNetdev(progFd, netns, ifname, attachType, xdpFlags) -> link fd (tcx ingress/egress or XDP)
Napi::Value AttachNetdev(const Napi::CallbackInfo& info) {
  int progFd = fdArg(info, 0, "progFd");
  std::string ns = stringArg(info, 1, "netns");
  std::string ifname = stringArg(info, 2, "ifname");
  int type = static_cast<int>(intArg(info, 3, "attachType", 0, 1000));
  uint32_t xdpFlags = static_cast<uint32_t>(intArg(info, 4, "xdpFlags", 0, 0xffff));
  if (type != kAttachTcxIngress && type != kAttachTcxEgress && type != BPF_XDP) {
    typeError(info.Env(), "attachType must be tcx ingress (46), tcx egress (47) or XDP (37)");
  }
  int fd = inKdpNetns(info.Env(), ns, [&](int& err, std::string& what) {
    int ifindex = ifindexOf(ifname, err, what);
    if (!ifindex) return -1;
    DECLARE_LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = type == BPF_XDP ? xdpFlags : 0);
    int link = bpf_link_create(progFd, ifindex, static_cast<bpf_attach_type>(type), &opts);
    if (link < 0) {
      err = errno;
      what = std::string(type == BPF_XDP ? "attach XDP" : "attach tcx") + " to " + ifname + " in " + ns;
    }
    return link;
  });
  return Napi::Number::New(info.Env(), fd);
}

bpf_tc_attach_point tcPoint(Napi::Env env, const std::string& dir) {
  if (dir == "ingress") return BPF_TC_INGRESS;
  if (dir == "egress") return BPF_TC_EGRESS;
  typeError(env, "direction must be \"ingress\" or \"egress\"");
}

// attachTcLegacy(progFd, netns, ifname, direction) -> { ifindex, handle, priority }: clsact qdisc
// (created if missing) and a direct-action cls_bpf filter, for kernels without tcx.
Napi::Value AttachTcLegacy(const Napi::CallbackInfo& info) {
  int progFd = fdArg(info, 0, "progFd");
  std::string ns = stringArg(info, 1, "netns");
  std::string ifname = stringArg(info, 2, "ifname");
  bpf_tc_attach_point point = tcPoint(info.Env(), stringArg(info, 3, "direction"));
  uint32_t handle = 0, priority = 0;
  int ifindex = inKdpNetns(info.Env(), ns, [&](int& err, std::string& what) {
    int idx = ifindexOf(ifname, err, what);
    if (!idx) return -1;
    DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = idx, .attach_point = point);
    int r = bpf_tc_hook_create(&hook);
    if (r != 0 && r != -EEXIST) {
      err = -r;
      what = "create clsact qdisc on " + ifname + " in " + ns;
      return -1;
    }
    DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = progFd);
    r = bpf_tc_attach(&hook, &opts);
    if (r != 0) {
      err = -r;
      what = "attach cls_bpf to " + ifname + " in " + ns;
      return -1;
    }
    handle = opts.handle;
    priority = opts.priority;
    return idx;
  });
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("ifindex", ifindex);
  out.Set("handle", static_cast<double>(handle));
  out.Set("priority", static_cast<double>(priority));
  return out;
}

// detachTcLegacy(netns, ifindex, direction, handle, priority): removes that one filter.
Napi::Value DetachTcLegacy(const Napi::CallbackInfo& info) {
  std::string ns = stringArg(info, 0, "netns");
  int ifindex = static_cast<int>(intArg(info, 1, "ifindex", 1, INT32_MAX));
  bpf_tc_attach_point point = tcPoint(info.Env(), stringArg(info, 2, "direction"));
  uint32_t handle = static_cast<uint32_t>(intArg(info, 3, "handle", 1, UINT32_MAX));
  uint32_t priority = static_cast<uint32_t>(intArg(info, 4, "priority", 1, 0xffff));
  inKdpNetns(info.Env(), ns, [&](int& err, std::string& what) {
    DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
    DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);
    int r = bpf_tc_detach(&hook, &opts);
    if (r != 0 && r != -ENOENT) {  // ENOENT: the interface or filter is gone already
      err = -r;
      what = "detach cls_bpf in " + ns;
    }
    return 0;
  });
  return info.Env().Undefined();
}

bool isCgroupAttachType(int t) {
  switch (t) {
    case BPF_CGROUP_INET_INGRESS:
    case BPF_CGROUP_INET_EGRESS:
    case BPF_CGROUP_INET4_CONNECT:
    case BPF_CGROUP_INET6_CONNECT:
    case BPF_CGROUP_UDP4_SENDMSG:
    case BPF_CGROUP_UDP6_SENDMSG:
    case BPF_CGROUP_UDP4_RECVMSG:
    case BPF_CGROUP_UDP6_RECVMSG:
    case BPF_CGROUP_INET4_GETPEERNAME:
    case BPF_CGROUP_INET6_GETPEERNAME:
      return true;
    default:
      return false;
  }
}

// attachCgroup(progFd, cgroupPath, attachType) -> link fd
Napi::Value AttachCgroup(const Napi::CallbackInfo& info) {
  int progFd = fdArg(info, 0, "progFd");
  std::string path = stringArg(info, 1, "cgroupPath");
  int type = static_cast<int>(intArg(info, 2, "attachType", 0, 1000));
  if (!isCgroupAttachType(type)) typeError(info.Env(), "attachType is not a cgroup skb or sock_addr hook");
  char real[PATH_MAX];
  if (!realpath(path.c_str(), real)) sysError(info.Env(), "cgroup " + path, errno);
  std::string resolved(real);
  std::string root(kCgroupRoot);
  if (resolved.size() <= root.size() || resolved.compare(0, root.size(), root) != 0) {
    throw Napi::Error::New(info.Env(), "cgroup " + resolved + " is not under " + root +
                                           ": kdp attaches only to cgroups in its own subtree");
  }
  int cg = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) sysError(info.Env(), "open cgroup " + resolved, errno);
  struct statfs fs;
  if (fstatfs(cg, &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
    close(cg);
    throw Napi::Error::New(info.Env(), resolved + " is not on a cgroup v2 filesystem");
  }
  int link = bpf_link_create(progFd, cg, static_cast<bpf_attach_type>(type), nullptr);
  int err = errno;
  close(cg);
  if (link < 0) sysError(info.Env(), "attach to cgroup " + resolved, err);
  return Napi::Number::New(info.Env(), link);
}

// closeFd(fd): closes a link (detaching it) or any other fd the library owns.
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = fdArg(info, 0, "fd");
  if (close(fd) != 0) sysError(info.Env(), "close fd " + std::to_string(fd), errno);
  return info.Env().Undefined();
}

// linkInfo(fd) -> { id, type, progId }: the link's kernel-wide id (bpftool link show id N).
Napi::Value LinkInfo(const Napi::CallbackInfo& info) {
  int fd = fdArg(info, 0, "fd");
  bpf_link_info li = {};
  uint32_t len = sizeof(li);
  int r = bpf_obj_get_info_by_fd(fd, &li, &len);
  if (r != 0) sysError(info.Env(), "link info of fd " + std::to_string(fd), r);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("id", static_cast<double>(li.id));
  out.Set("type", static_cast<double>(li.type));
  out.Set("progId", static_cast<double>(li.prog_id));
  return out;
}

}  // namespace

void InitAttach(Napi::Env env, Napi::Object exports) {
  exports.Set("attachNetdev", Napi::Function::New(env, AttachNetdev));
  exports.Set("attachTcLegacy", Napi::Function::New(env, AttachTcLegacy));
  exports.Set("detachTcLegacy", Napi::Function::New(env, DetachTcLegacy));
  exports.Set("attachCgroup", Napi::Function::New(env, AttachCgroup));
  exports.Set("linkInfo", Napi::Function::New(env, LinkInfo));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
}

}  // namespace kdp_ebpf
