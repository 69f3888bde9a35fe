#include "tools/loadgen/fake_chat_server.h"

#include <errno.h>
#include <glog/logging.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "net/socket.h"

namespace chatd::loadgen {
namespace {

// Blocking-style write on a non-blocking socket: the tests move a few
// kilobytes, which always fit the socket buffers, so this never spins long.
void WritePlain(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd, POLLOUT, 0};
      poll(&p, 1, 100);
    } else {
      return;  // The peer is gone.
    }
  }
}

}  // namespace

FakeChatServer::FakeChatServer(Fault fault,
                               std::shared_ptr<const TlsContext> tls)
    : fault_(fault), tls_(std::move(tls)) {
  absl::StatusOr<int> fd = ListenTcp("127.0.0.1", 0, 128);
  CHECK(fd.ok()) << fd.status();
  listen_fd_ = *fd;
  absl::StatusOr<uint16_t> port = LocalPort(listen_fd_);
  CHECK(port.ok()) << port.status();
  port_ = *port;
  thread_ = std::thread([this] { Run(); });
}

FakeChatServer::~FakeChatServer() {
  stop_ = true;
  thread_.join();
  for (Client& c : clients_) {
    if (c.fd >= 0) close(c.fd);
  }
  close(listen_fd_);
}

std::vector<std::string> FakeChatServer::joined_names() const {
  std::lock_guard<std::mutex> lock(joined_mutex_);
  return joined_names_;
}

void FakeChatServer::Run() {
  while (!stop_) {
    std::vector<pollfd> fds;
    fds.push_back(pollfd{listen_fd_, POLLIN, 0});
    for (const Client& c : clients_) fds.push_back(pollfd{c.fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), 20) <= 0) continue;
    if (fds[0].revents & POLLIN) {
      const int fd =
          accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        ++accepted_;
        Client client;
        client.fd = fd;
        if (tls_ != nullptr) {
          absl::StatusOr<std::unique_ptr<TlsStream>> stream =
              TlsStream::Create(tls_, fd, TlsStream::Role::kServer);
          CHECK(stream.ok()) << stream.status();
          client.tls = *std::move(stream);
        }
        clients_.push_back(std::move(client));
      }
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const size_t index = i - 1;
      if (clients_[index].fd < 0) continue;
      if (!ReadFrom(clients_[index])) {
        clients_[index].tls.reset();
        close(clients_[index].fd);
        clients_[index].fd = -1;
        continue;
      }
      size_t newline;
      while ((newline = clients_[index].in.find('\n')) != std::string::npos) {
        const std::string line = clients_[index].in.substr(0, newline);
        clients_[index].in.erase(0, newline + 1);
        OnLine(index, line);
      }
    }
  }
}

bool FakeChatServer::ReadFrom(Client& client) {
  char buffer[TlsStream::kMaxRecord];
  if (client.tls == nullptr) {
    const ssize_t n = read(client.fd, buffer, sizeof(buffer));
    if (n > 0) client.in.append(buffer, static_cast<size_t>(n));
    return n > 0 || (n < 0 && errno == EAGAIN);
  }
  // Until it would block: a record left inside OpenSSL is not seen by poll.
  while (true) {
    size_t n = 0;
    switch (client.tls->Read(buffer, sizeof(buffer), &n)) {
      case TlsStream::Result::kDone:
        client.in.append(buffer, n);
        continue;
      case TlsStream::Result::kWantRead:
      case TlsStream::Result::kWantWrite:
        return true;
      case TlsStream::Result::kClosed:
      case TlsStream::Result::kError:
        return false;
    }
  }
}

void FakeChatServer::WriteAll(Client& client, const std::string& bytes) {
  if (client.fd < 0) return;
  if (client.tls == nullptr) {
    WritePlain(client.fd, bytes);
    return;
  }
  // As WritePlain: waits for the socket rather than queueing.
  size_t done = 0;
  while (done < bytes.size() || client.tls->write_blocked()) {
    TlsStream::Result result;
    if (client.tls->write_blocked()) {
      result = client.tls->ResumeWrite();
    } else {
      size_t taken = 0;
      result = client.tls->Write(
          absl::string_view(bytes).substr(done, TlsStream::kMaxRecord), &taken);
      done += taken;
    }
    if (result == TlsStream::Result::kDone) continue;
    if (result != TlsStream::Result::kWantRead &&
        result != TlsStream::Result::kWantWrite) {
      return;  // The peer is gone.
    }
    pollfd p{client.fd,
             static_cast<short>(
                 result == TlsStream::Result::kWantRead ? POLLIN : POLLOUT),
             0};
    poll(&p, 1, 100);
  }
}

void FakeChatServer::OnLine(size_t from, const std::string& line) {
  Client& client = clients_[from];
  if (client.name.empty()) {
    const std::vector<std::string> words = absl::StrSplit(line, ' ');
    if (words.size() != 3 || words[0] != "JOIN") {
      WriteAll(client, "ERROR expected JOIN <group> <name>\n");
      return;
    }
    client.group = words[1];
    client.name = words[2];
    {
      std::lock_guard<std::mutex> lock(joined_mutex_);
      joined_names_.push_back(client.name);
    }
    int online = 0;
    for (Client& other : clients_) {
      if (other.fd < 0 || other.group != client.group) continue;
      ++online;
      if (&other != &client) {
        WriteAll(other, absl::StrCat("* ", client.name, " has joined\n"));
      }
    }
    WriteAll(client, absl::StrCat("* you joined ", client.group, " as ",
                                  client.name, " (", online, " online)\n"));
    return;
  }
  if (line.empty()) return;
  Relay(from, line);
}

void FakeChatServer::Relay(size_t from, const std::string& line) {
  Client& sender = clients_[from];
  const int index = sender.messages_sent++;
  for (Client& to : clients_) {
    if (&to == &sender || to.fd < 0 || to.group != sender.group) continue;
    DeliverTo(to, sender, line, index);
  }
}

void FakeChatServer::DeliverTo(Client& to, const Client& from,
                               const std::string& line, int index) {
  const std::string out = absl::StrCat(from.name, ": ", line, "\n");
  const bool faulty_pair = from.name == "c0" && to.name == "c1";
  if (faulty_pair && index == kFaultyIndex) {
    switch (fault_) {
      case Fault::kNone:
        break;
      case Fault::kDrop:
        return;
      case Fault::kDuplicate:
        WriteAll(to, out);
        break;
      case Fault::kReorder:
        to.held = out;
        return;
    }
  }
  WriteAll(to, out);
  if (faulty_pair && !to.held.empty()) {
    WriteAll(to, to.held);
    to.held.clear();
  }
}

}  // namespace chatd::loadgen
