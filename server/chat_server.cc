#include "server/chat_server.h"

#include <glog/logging.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/protocol.h"
#include "net/socket.h"

namespace chatd {

namespace {

constexpr absl::string_view kPortNames[] = {"line port",     "HTTP port",
                                            "TLS line port", "HTTPS port",
                                            "IRC port",      "IRC TLS port"};

}  // namespace

absl::StatusOr<ChatServer::TlsContexts> ChatServer::LoadTls(
    const Options& options) {
  TlsContexts contexts;
  for (int protocol = 0; protocol < kProtocols; ++protocol) {
    TlsContext::Options tls;
    tls.cert_file = options.tls_cert_file;
    tls.key_file = options.tls_key_file;
    if (static_cast<Protocol>(protocol) == Protocol::kHttp) {
      tls.alpn = "http/1.1";
    }
    absl::StatusOr<std::shared_ptr<const TlsContext>> context =
        TlsContext::Load(tls);
    if (!context.ok()) return context.status();
    contexts[protocol] = *std::move(context);
  }
  return contexts;
}

absl::StatusOr<std::unique_ptr<ChatServer>> ChatServer::Create(
    const Options& options) {
  if (options.threads < 1 || options.threads > kMaxWorkers) {
    return absl::InvalidArgumentError(
        absl::StrCat("threads must be 1 to ", kMaxWorkers));
  }
  const bool tls = !options.tls_cert_file.empty();
  if (tls != !options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "a TLS certificate needs its key, and a key its certificate");
  }
  const int wanted[kPorts] = {options.port,
                              options.http_port,
                              tls ? options.tls_port : -1,
                              tls ? options.https_port : -1,
                              options.irc_port,
                              tls ? options.ircs_port : -1};
  for (int i = 0; i < kPorts; ++i) {
    if (wanted[i] < -1 || wanted[i] > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat(kPortNames[i], " must be -1 to 65535"));
    }
  }
  // Loaded before anything listens: a bad file stops the start.
  TlsContexts tls_contexts;
  if (tls) {
    absl::StatusOr<TlsContexts> loaded = LoadTls(options);
    if (!loaded.ok()) return loaded.status();
    tls_contexts = *std::move(loaded);
  }
  absl::StatusOr<std::vector<std::string>> addresses =
      ParseBindList(options.bind);
  if (!addresses.ok()) return addresses.status();
  const bool any_ipv4 = std::find(addresses->begin(), addresses->end(),
                                  "0.0.0.0") != addresses->end();

  std::vector<Acceptor::Listener> listeners;
  auto close_all = [&listeners] {
    for (const Acceptor::Listener& listener : listeners) close(listener.fd);
  };
  uint16_t ports[kPorts] = {};
  for (int i = 0; i < kPorts; ++i) {
    if (wanted[i] < 0) continue;
    for (const std::string& address : *addresses) {
      // Port 0 picks a free port on the first address; the others follow
      // it, so each port has one number on every address.
      const uint16_t port =
          ports[i] != 0 ? ports[i] : static_cast<uint16_t>(wanted[i]);
      absl::StatusOr<int> fd =
          ListenTcp(address, port, options.listen_backlog,
                    /*dual_stack=*/address == "::" && !any_ipv4);
      if (!fd.ok()) {
        close_all();
        return absl::Status(
            fd.status().code(),
            absl::StrCat(kPortNames[i], ": ", fd.status().message()));
      }
      listeners.push_back({*fd, i});
      absl::StatusOr<uint16_t> bound = LocalPort(*fd);
      if (!bound.ok()) {
        close_all();
        return bound.status();
      }
      ports[i] = *bound;
    }
  }
  std::unique_ptr<ChatServer> server(new ChatServer(options, listeners, ports));
  if (tls) server->InstallTls(std::move(tls_contexts));
  if (server->backplane_ != nullptr) {
    absl::Status status = server->backplane_->Start(
        options.threads, static_cast<Transport*>(server.get()));
    if (!status.ok()) return status;
  }
  return server;
}

ChatServer::ChatServer(const Options& options,
                       const std::vector<Acceptor::Listener>& listeners,
                       const uint16_t (&ports)[kPorts])
    : options_(options),
      kernel_tls_available_(KernelTlsAvailable()),
      start_time_(absl::Now()),
      limits_(options.max_connections, options.max_connections_per_ip) {
  std::copy(std::begin(ports), std::end(ports), ports_);
  Worker::Options worker_options = options.worker;
  worker_options.web.site = this;
  for (int protocol = 0; protocol < kProtocols; ++protocol) {
    worker_options.tls[protocol] = &tls_[protocol];
  }
  if (!options.cluster.urls.empty()) {
    backplane_ = std::make_unique<NatsBackplane>(options.cluster, &registry_);
  }
  for (int i = 0; i < options.threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(
        i, worker_options, &registry_, static_cast<Transport*>(this),
        backplane_.get(), [this](int fd) { limits_.Release(fd); }));
  }
  // The listener's tag is its PortIndex.
  acceptor_ = std::make_unique<Acceptor>(
      listeners,
      [this](int fd, const sockaddr_storage& peer, int tag) {
        OnAccept(fd, peer, kPortKinds[tag]);
      },
      [](int fd, int tag) {
        // Out of fds: best effort, the socket buffer is empty. A TLS port
        // has no way to say it before a handshake.
        static constexpr char kFull[] = "ERROR server full\n";
        static constexpr char kIrcFull[] =
            "ERROR :Closing Link: * (server full)\r\n";
        static constexpr char kHttpFull[] =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n";
        const Port port = kPortKinds[tag];
        if (port.tls) return;
        if (port.protocol == Protocol::kHttp) {
          send(fd, kHttpFull, sizeof(kHttpFull) - 1,
               MSG_DONTWAIT | MSG_NOSIGNAL);
        } else if (port.protocol == Protocol::kIrc) {
          send(fd, kIrcFull, sizeof(kIrcFull) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        } else {
          send(fd, kFull, sizeof(kFull) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        }
      });
}

absl::Status ChatServer::ReloadTls() {
  if (options_.tls_cert_file.empty()) return absl::OkStatus();
  absl::StatusOr<TlsContexts> loaded = LoadTls(options_);
  if (!loaded.ok()) {
    tls_reload_errors_.fetch_add(1, std::memory_order_relaxed);
    return loaded.status();
  }
  InstallTls(*std::move(loaded));
  return absl::OkStatus();
}

void ChatServer::InstallTls(TlsContexts contexts) {
  // Both or neither: the two ports never serve different certificates.
  for (int protocol = 0; protocol < kProtocols; ++protocol) {
    tls_[protocol].Set(std::move(contexts[protocol]));
  }
  tls_reloads_.fetch_add(1, std::memory_order_relaxed);
}

ChatServer::~ChatServer() { Stop(); }

void ChatServer::Start() {
  CHECK(!started_);
  started_ = true;
  // A write to a client that vanished must be an EPIPE error, not a signal
  // that kills the process.
  signal(SIGPIPE, SIG_IGN);
  for (auto& worker : workers_) worker->Start();
  acceptor_->Start();
}

void ChatServer::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  serving_.store(false, std::memory_order_relaxed);
  // Accepting goes on through the grace period, so that /healthz can say
  // 503 to whoever asks; the workers turn away new line clients. It ends
  // when every connection is gone or the grace is over. Only then does the
  // acceptor stop, and only after it has stopped are the workers told to
  // exit: no new connection can be posted behind their kExit and be lost.
  for (auto& worker : workers_) worker->Post(Envelope::Shutdown());
  const absl::Time grace_end = absl::Now() + options_.worker.shutdown_grace;
  while (limits_.open() > 0 && absl::Now() < grace_end) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  acceptor_->Stop();
  for (auto& worker : workers_) worker->Post(Envelope::Exit());
  for (auto& worker : workers_) worker->Join();
  // Last: the members' leaves, queued as the workers closed them, still
  // reach the other hosts.
  if (backplane_ != nullptr) backplane_->Stop();
}

void ChatServer::OnAccept(int fd, const sockaddr_storage& peer, Port port) {
  Worker& worker = *workers_[next_worker_];
  next_worker_ = (next_worker_ + 1) % workers_.size();
  const ConnectionLimits::Verdict verdict = limits_.Admit(fd, AddressKey(peer));
  if (verdict != ConnectionLimits::Verdict::kAdmit) {
    VLOG(1) << "refusing " << FormatAddress(peer) << ": "
            << ConnectionLimits::Reason(verdict);
    // The worker answers and closes it, lingering so the reply is not lost.
    worker.Post(Envelope::Refusal(
        fd, port, FormatError(ConnectionLimits::Reason(verdict))));
    return;
  }
  worker.Post(Envelope::Connection(fd, port));
}

void ChatServer::Post(int worker, ShardPost line) {
  // Called on the posting worker's thread, `line.origin`, or on the
  // backplane's receive thread (origin -1), which has no input to hold:
  // NATS's own slow-consumer limit bounds what it sends us.
  const int origin = line.origin;
  const size_t depth =
      workers_[worker]->Post(Envelope::Broadcast(std::move(line)));
  const size_t high_water = options_.worker.mailbox_high_water;
  if (origin >= 0 && high_water > 0 && depth > high_water) {
    workers_[origin]->HoldInputFor(workers_[worker].get());
  }
}

}  // namespace chatd
