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
    kRefusal,     // `fd` is a client to answer `refusal` and close.
    kBroadcast,   // `broadcast` goes to this worker's shard.
    kShutdown,    // Tell every client, flush, keep answering the HTTP port.
    kExit,        // Cut off whoever is left and stop the thread.
  };

  static Envelope Connection(int fd, Port port) {
    Envelope e;
    e.kind = Kind::kConnection;
    e.fd = fd;
    e.port = port;
    return e;
  }
  static Envelope Refusal(int fd, Port port, PayloadRef error) {
    Envelope e;
    e.kind = Kind::kRefusal;
    e.fd = fd;
    e.port = port;
    e.refusal = std::move(error);
    return e;
  }
  static Envelope Broadcast(ShardPost line) {
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
  // With kConnection and kRefusal: the port the client came to.
  Port port;
  // With kBroadcast: what the shard delivers.
  ShardPost broadcast;
  // With kRefusal: the error to send.
  PayloadRef refusal;
};

}  // namespace chatd

#endif  // CHATD_SERVER_ENVELOPE_H_
