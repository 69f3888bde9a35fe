// Envelope is what travels through a worker's Mailbox: the typed unit of
// cross-thread work. The acceptor posts new connections; other workers post
// broadcasts; the server posts the shutdown.
#ifndef CHATD_SERVER_ENVELOPE_H_
#define CHATD_SERVER_ENVELOPE_H_

#include <cstdint>

#include "core/chat_shard.h"
#include "net/payload.h"
#include "server/framing.h"

namespace chatd {

struct Envelope {
  enum class Kind {
    kNone,        // A moved-from or default envelope.
    kConnection,  // `fd` is a new client for this worker to serve.
    kRefusal,     // `fd` is a client to answer `broadcast.line` and close.
    kBroadcast,   // `broadcast` goes to this worker's members of its group.
    kShutdown,    // Tell every client, flush, keep answering the HTTP port.
    kExit,        // Cut off whoever is left and stop the thread.
  };

  static Envelope Connection(int fd, uint32_t peer_ip, Protocol protocol) {
    Envelope e;
    e.kind = Kind::kConnection;
    e.fd = fd;
    e.peer_ip = peer_ip;
    e.protocol = protocol;
    return e;
  }
  static Envelope Refusal(int fd, Protocol protocol, PayloadRef error) {
    Envelope e;
    e.kind = Kind::kRefusal;
    e.fd = fd;
    e.protocol = protocol;
    e.broadcast.line = std::move(error);
    return e;
  }
  static Envelope Broadcast(GroupLine line) {
    Envelope e;
    e.kind = Kind::kBroadcast;
    e.broadcast = std::move(line);
    return e;
  }
  static Envelope Shutdown() {
    Envelope e;
    e.kind = Kind::kShutdown;
    return e;
  }
  static Envelope Exit() {
    Envelope e;
    e.kind = Kind::kExit;
    return e;
  }

  Kind kind = Kind::kNone;
  int fd = -1;
  uint32_t peer_ip = 0;  // With kConnection: the client's IPv4 address.
  // With kConnection and kRefusal: what the client's port speaks.
  Protocol protocol = Protocol::kLine;
  // With kBroadcast the line for the group; with kRefusal, `line` is the
  // error to send.
  GroupLine broadcast;
};

}  // namespace chatd

#endif  // CHATD_SERVER_ENVELOPE_H_
