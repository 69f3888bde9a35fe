// WebSite is what the HTTP port serves besides the WebSocket: whether the
// server is serving (for /healthz) and the /metrics text. The server
// implements it; any worker's thread calls it while answering a request, so
// it must be thread-safe, and must neither block nor take a lock on the
// message path.
#ifndef CHATD_SERVER_WEB_SITE_H_
#define CHATD_SERVER_WEB_SITE_H_

#include <string>

namespace chatd {

class WebSite {
 public:
  // False once the server has begun to shut down.
  virtual bool serving() const = 0;
  // The Prometheus text exposition (format 0.0.4).
  virtual std::string Metrics() const = 0;

 protected:
  ~WebSite() = default;
};

}  // namespace chatd

#endif  // CHATD_SERVER_WEB_SITE_H_
