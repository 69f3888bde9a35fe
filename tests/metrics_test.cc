// /metrics from outside: the Prometheus text format (checked by promtool
// and by hand: HELP and TYPE for every family, cumulative histograms ending
// in +Inf), and the counters and gauges moving as traffic passes: line and
// WebSocket members chatting, a line too long, a connection over
// --max_connections. Process metrics and build info are present.

#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/chat_client.h"
#include "tests/chat_fixture.h"
#include "tests/http_client.h"
#include "tests/status_macros.h"

namespace chatd_test {
namespace {

constexpr char kPromtool[] = "/usr/bin/promtool";

// A parsed scrape: every sample by its series ("name{labels}" as written),
// and the HELP and TYPE lines by family.
struct Scrape {
  std::string text;
  std::map<std::string, double> samples;
  std::vector<std::string> order;  // Series in the order written.
  std::map<std::string, std::string> help;
  std::map<std::string, std::string> type;

  bool Has(const std::string& series) const {
    return samples.count(series) > 0;
  }
  double Get(const std::string& series) const {
    auto it = samples.find(series);
    return it == samples.end() ? -1 : it->second;
  }
};

std::string MetricName(absl::string_view series) {
  return std::string(series.substr(0, series.find('{')));
}

absl::StatusOr<Scrape> Parse(std::string text) {
  Scrape scrape;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty()) continue;
    if (absl::ConsumePrefix(&line, "# HELP ")) {
      const size_t space = line.find(' ');
      scrape.help[std::string(line.substr(0, space))] =
          space == absl::string_view::npos
              ? ""
              : std::string(line.substr(space + 1));
      continue;
    }
    if (absl::ConsumePrefix(&line, "# TYPE ")) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ');
      if (parts.size() != 2) {
        return absl::DataLossError(absl::StrCat("bad TYPE line: ", line));
      }
      scrape.type[parts[0]] = parts[1];
      continue;
    }
    if (absl::StartsWith(line, "#")) continue;
    const size_t space = line.rfind(' ');
    if (space == absl::string_view::npos) {
      return absl::DataLossError(absl::StrCat("bad sample line: ", line));
    }
    const std::string series(line.substr(0, space));
    const absl::string_view value_text = line.substr(space + 1);
    double value = 0;
    if (value_text == "+Inf") {
      value = INFINITY;
    } else if (!absl::SimpleAtod(value_text, &value)) {
      return absl::DataLossError(absl::StrCat("bad sample value: ", line));
    }
    if (scrape.samples.count(series) > 0) {
      return absl::DataLossError(absl::StrCat("duplicate series: ", series));
    }
    scrape.samples[series] = value;
    scrape.order.push_back(series);
  }
  scrape.text = std::move(text);
  return scrape;
}

// The family a sample belongs to: a histogram's _bucket, _sum and _count
// samples belong to the histogram.
std::string FamilyOf(const Scrape& scrape, const std::string& name) {
  for (absl::string_view suffix : {"_bucket", "_sum", "_count"}) {
    absl::string_view base = name;
    if (absl::ConsumeSuffix(&base, suffix)) {
      auto it = scrape.type.find(std::string(base));
      if (it != scrape.type.end() &&
          (it->second == "histogram" || it->second == "summary")) {
        return std::string(base);
      }
    }
  }
  return name;
}

class MetricsTest : public ChatServerTest {
 protected:
  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options;
    options.threads = 2;
    return options;
  }

  int http_port() { return server().http_port(); }

  // One scrape on a fresh connection, retried while the server is full.
  absl::StatusOr<Scrape> ScrapeMetrics() {
    const absl::Time deadline = absl::Now() + kDefaultTimeout;
    while (true) {
      absl::StatusOr<HttpReply> reply = HttpGet(http_port(), "/metrics");
      if (!reply.ok()) return reply.status();
      if (reply->status == 200) return Parse(reply->body);
      if (reply->status != 503 || absl::Now() >= deadline) {
        return absl::UnknownError(
            absl::StrCat("GET /metrics: ", reply->status_line));
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  // Scrapes until `series` reaches at least `value`: counters of work done
  // on a worker's thread may show a moment after the client saw the result.
  absl::StatusOr<Scrape> ScrapeUntil(const std::string& series, double value) {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (true) {
      absl::StatusOr<Scrape> scrape = ScrapeMetrics();
      if (!scrape.ok() || scrape->Get(series) >= value ||
          absl::Now() >= deadline) {
        return scrape;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
};

TEST_F(MetricsTest, ServesPrometheusTextWithHelpAndType) {
  ASSERT_OK_AND_ASSIGN(HttpReply reply, HttpGet(http_port(), "/metrics"));
  ASSERT_EQ(reply.status, 200) << reply.status_line;
  EXPECT_TRUE(absl::StartsWith(reply.Header("content-type"),
                               "text/plain; version=0.0.4"))
      << reply.Header("content-type");
  ASSERT_OK_AND_ASSIGN(Scrape scrape, Parse(reply.body));
  ASSERT_FALSE(scrape.samples.empty());
  std::set<std::string> families;
  for (const std::string& series : scrape.order) {
    families.insert(FamilyOf(scrape, MetricName(series)));
  }
  for (const std::string& family : families) {
    EXPECT_TRUE(scrape.help.count(family) > 0) << family << " has no # HELP";
    EXPECT_TRUE(scrape.type.count(family) > 0) << family << " has no # TYPE";
  }
  for (const auto& [family, type] : scrape.type) {
    EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram" ||
                type == "summary" || type == "untyped")
        << family << " has type " << type;
  }
}

TEST_F(MetricsTest, PromtoolAcceptsTheMetrics) {
  ASSERT_OK_AND_ASSIGN(HttpReply reply, HttpGet(http_port(), "/metrics"));
  ASSERT_EQ(reply.status, 200) << reply.status_line;
  ASSERT_EQ(access(kPromtool, X_OK), 0)
      << kPromtool << " is missing: install it with tools/setup.sh (Debian "
      << "package prometheus); this test needs it to validate /metrics";
  const char* tmpdir = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(tmpdir != nullptr ? tmpdir : "/tmp",
                                        "/metrics_", getpid(), ".txt");
  {
    std::ofstream out(path, std::ios::binary);
    out << reply.body;
    ASSERT_TRUE(out.good()) << "cannot write " << path;
  }
  // The body goes to promtool's stdin; its verdict is its exit status.
  const std::string command =
      absl::StrCat(kPromtool, " check metrics < '", path, "' 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr) << "popen " << command;
  std::string output;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), pipe)) > 0)
    output.append(chunk, n);
  const int status = pclose(pipe);
  unlink(path.c_str());
  std::fprintf(stderr, "promtool check metrics said:\n%s\n", output.c_str());
  ASSERT_TRUE(WIFEXITED(status)) << "promtool did not exit: " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "promtool check metrics rejected /metrics:\n"
      << output << "\n--- the body ---\n"
      << reply.body;
}

// The WebSocket side of a member, by hand: the upgrade, masked text frames
// out, unmasked text frames in.
class WsMember {
 public:
  absl::Status Open(int http_port) {
    absl::Status status = client_.Connect(http_port);
    if (!status.ok()) return status;
    status = client_.Send(
        absl::StrCat("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:", http_port,
                     "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Protocol: chatd.line\r\n\r\n"));
    if (!status.ok()) return status;
    absl::StatusOr<HttpReply> reply = client_.ReadResponse();
    if (!reply.ok()) return reply.status();
    if (reply->status != 101 || reply->Header("sec-websocket-accept") !=
                                    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") {
      return absl::UnknownError(
          absl::StrCat("WebSocket handshake: ", reply->status_line,
                       " accept=", reply->Header("sec-websocket-accept")));
    }
    return absl::OkStatus();
  }

  // Sends `text` as one masked text frame; returns the bytes on the wire.
  absl::StatusOr<size_t> SendText(absl::string_view text) {
    std::string frame;
    frame.push_back(static_cast<char>(0x81));  // FIN, text.
    if (text.size() < 126) {
      frame.push_back(static_cast<char>(0x80 | text.size()));
    } else {
      frame.push_back(static_cast<char>(0x80 | 126));
      frame.push_back(static_cast<char>(text.size() >> 8));
      frame.push_back(static_cast<char>(text.size() & 0xff));
    }
    const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    for (unsigned char m : mask) frame.push_back(static_cast<char>(m));
    for (size_t i = 0; i < text.size(); ++i) {
      frame.push_back(static_cast<char>(text[i] ^ mask[i % 4]));
    }
    absl::Status status = client_.Send(frame);
    if (!status.ok()) return status;
    return frame.size();
  }

  // The next text message (pings and other control frames are skipped).
  absl::StatusOr<std::string> ReadText() {
    while (true) {
      absl::StatusOr<std::string> head = client_.ReadBytes(2);
      if (!head.ok()) return head.status();
      const int opcode = (*head)[0] & 0x0f;
      uint64_t length = (*head)[1] & 0x7f;
      if ((*head)[1] & 0x80) return absl::DataLossError("masked server frame");
      if (length >= 126) {
        absl::StatusOr<std::string> ext =
            client_.ReadBytes(length == 126 ? 2 : 8);
        if (!ext.ok()) return ext.status();
        length = 0;
        for (char c : *ext) length = (length << 8) | static_cast<uint8_t>(c);
      }
      absl::StatusOr<std::string> payload = client_.ReadBytes(length);
      if (!payload.ok()) return payload.status();
      if (opcode == 0x1) return payload;
      if (opcode == 0x8) {
        return absl::UnavailableError("the server sent a close frame");
      }
    }
  }

  std::string NextText() {
    absl::StatusOr<std::string> text = ReadText();
    if (!text.ok())
      return absl::StrCat("<no message: ", text.status().ToString(), ">");
    return *text;
  }

 private:
  HttpClient client_;
};

TEST_F(MetricsTest, CountersMoveWithTraffic) {
  ASSERT_OK_AND_ASSIGN(ChatClient alice, Join("g", "alice", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient bob, Join("g", "bob", 2));
  EXPECT_EQ(alice.NextLine(), "* bob has joined");
  WsMember web;
  ASSERT_OK(web.Open(http_port()));
  ASSERT_OK(web.SendText("JOIN g web").status());
  ASSERT_EQ(web.NextText(), "* you joined g as web (3 online)");
  EXPECT_EQ(alice.NextLine(), "* web has joined");
  EXPECT_EQ(bob.NextLine(), "* web has joined");

  ASSERT_OK_AND_ASSIGN(Scrape before, ScrapeMetrics());
  EXPECT_EQ(before.Get("chatd_members"), 3);
  EXPECT_EQ(before.Get("chatd_groups"), 1);
  EXPECT_EQ(before.Get("chatd_connections{transport=\"line\"}"), 2);
  EXPECT_EQ(before.Get("chatd_connections{transport=\"websocket\"}"), 1)
      << "(not asked for by the brief, but the WebSocket member is open)";

  // alice and web each send kMessages; each message reaches the other two.
  constexpr int kMessages = 20;
  uint64_t bytes_in = 0, bytes_out = 0;
  for (int i = 0; i < kMessages; ++i) {
    const std::string from_alice = absl::StrCat("hello from alice ", i);
    ASSERT_OK(alice.SendLine(from_alice));
    bytes_in += from_alice.size() + 1;
    const std::string line = absl::StrCat("alice: ", from_alice);
    EXPECT_EQ(bob.NextLine(), line);
    EXPECT_EQ(web.NextText(), line);
    bytes_out += 2 * line.size();  // At least: "\n" and frame heads add more.

    const std::string from_web = absl::StrCat("hello from web ", i);
    ASSERT_OK_AND_ASSIGN(size_t frame, web.SendText(from_web));
    bytes_in += frame;
    const std::string web_line = absl::StrCat("web: ", from_web);
    EXPECT_EQ(alice.NextLine(), web_line);
    EXPECT_EQ(bob.NextLine(), web_line);
    bytes_out += 2 * web_line.size();
  }

  ASSERT_OK_AND_ASSIGN(
      Scrape after,
      ScrapeUntil("chatd_deliveries_total",
                  before.Get("chatd_deliveries_total") + 4 * kMessages));
  auto grew = [&](const std::string& series) {
    return after.Get(series) - before.Get(series);
  };
  EXPECT_GE(grew("chatd_lines_received_total"), 2 * kMessages);
  EXPECT_GE(grew("chatd_messages_total"), 2 * kMessages);
  EXPECT_GE(grew("chatd_deliveries_total"), 4 * kMessages);
  EXPECT_GE(grew("chatd_received_bytes_total"), bytes_in);
  EXPECT_GE(grew("chatd_sent_bytes_total"), bytes_out);
  EXPECT_EQ(after.Get("chatd_members"), 3);
  EXPECT_EQ(after.Get("chatd_groups"), 1);
  EXPECT_EQ(after.Get("chatd_connections{transport=\"line\"}"), 2);
}

TEST_F(MetricsTest, LineTooLongIsCountedAsADrop) {
  const std::string series =
      "chatd_dropped_connections_total{reason=\"line_too_long\"}";
  ASSERT_OK_AND_ASSIGN(Scrape before, ScrapeMetrics());
  ASSERT_TRUE(before.Has(series)) << before.text;
  EXPECT_EQ(before.Get(series), 0);
  ASSERT_OK_AND_ASSIGN(ChatClient client, Join("g", "long", 1));
  ASSERT_OK(client.SendRaw(std::string(5000, 'x')));
  EXPECT_EQ(client.NextLine(), "ERROR line too long");
  EXPECT_OK(client.ExpectClosed());
  ASSERT_OK_AND_ASSIGN(Scrape after, ScrapeUntil(series, 1));
  EXPECT_EQ(after.Get(series), 1);
}

TEST_F(MetricsTest, EveryWorkerHasMailboxDepthAndLoopHistogram) {
  // Some traffic so that loops have run a few passes.
  ASSERT_OK_AND_ASSIGN(ChatClient alice, Join("g", "alice", 1));
  ASSERT_OK_AND_ASSIGN(ChatClient bob, Join("g", "bob", 2));
  ASSERT_OK(alice.SendLine("hi"));
  EXPECT_EQ(bob.NextLine(), "alice: hi");
  ASSERT_OK_AND_ASSIGN(Scrape scrape, ScrapeMetrics());
  EXPECT_EQ(scrape.Get("chatd_workers"), 2);
  EXPECT_EQ(scrape.type["chatd_loop_pass_seconds"], "histogram");
  for (int w = 0; w < 2; ++w) {
    const std::string worker = absl::StrCat("worker=\"", w, "\"");
    EXPECT_TRUE(scrape.Has(absl::StrCat("chatd_mailbox_depth{", worker, "}")))
        << "no chatd_mailbox_depth for " << worker;
    // The buckets of this worker, in the order written.
    std::vector<std::pair<std::string, double>> buckets;
    const std::string prefix =
        absl::StrCat("chatd_loop_pass_seconds_bucket{", worker, ",le=\"");
    for (const std::string& series : scrape.order) {
      absl::string_view le = series;
      if (!absl::ConsumePrefix(&le, prefix)) continue;
      ASSERT_TRUE(absl::ConsumeSuffix(&le, "\"}")) << series;
      buckets.emplace_back(std::string(le), scrape.Get(series));
    }
    ASSERT_GE(buckets.size(), 2u) << "no loop histogram for " << worker;
    EXPECT_EQ(buckets.back().first, "+Inf") << worker;
    double last_le = -1;
    for (size_t i = 0; i < buckets.size(); ++i) {
      if (i > 0) {
        EXPECT_GE(buckets[i].second, buckets[i - 1].second)
            << worker
            << ": buckets are not cumulative at le=" << buckets[i].first;
      }
      if (buckets[i].first != "+Inf") {
        double le = 0;
        ASSERT_TRUE(absl::SimpleAtod(buckets[i].first, &le))
            << buckets[i].first;
        EXPECT_GT(le, last_le) << worker << ": le out of order";
        last_le = le;
      }
    }
    const std::string count =
        absl::StrCat("chatd_loop_pass_seconds_count{", worker, "}");
    const std::string sum =
        absl::StrCat("chatd_loop_pass_seconds_sum{", worker, "}");
    ASSERT_TRUE(scrape.Has(count)) << count;
    ASSERT_TRUE(scrape.Has(sum)) << sum;
    EXPECT_EQ(scrape.Get(count), buckets.back().second) << worker;
    EXPECT_GT(scrape.Get(count), 0) << worker << " never ran a loop pass";
  }
}

TEST_F(MetricsTest, ProcessMetricsAndBuildInfo) {
  ASSERT_OK_AND_ASSIGN(Scrape scrape, ScrapeMetrics());
  EXPECT_GT(scrape.Get("process_resident_memory_bytes"), 0);
  EXPECT_GT(scrape.Get("process_open_fds"), 0);
  bool build_info = false;
  for (const std::string& series : scrape.order) {
    if (MetricName(series) == "chatd_build_info") {
      build_info = true;
      EXPECT_EQ(scrape.Get(series), 1) << series;
    }
  }
  EXPECT_TRUE(build_info) << "no chatd_build_info";
}

class MetricsFullTest : public MetricsTest {
 protected:
  ServerProcess::Options ServerOptions() const override {
    ServerProcess::Options options = MetricsTest::ServerOptions();
    options.max_connections = 3;
    return options;
  }
};

TEST_F(MetricsFullTest, ServerFullIsCountedAsADrop) {
  const std::string series =
      "chatd_dropped_connections_total{reason=\"server_full\"}";
  ASSERT_OK_AND_ASSIGN(Scrape before, ScrapeMetrics());
  ASSERT_TRUE(before.Has(series)) << before.text;
  // The scrape's slot is freed on the server's side of its close, which a
  // client can't see: retry while the server says it is full.
  std::vector<ChatClient> members;
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(
        ChatClient member,
        JoinEventually("g", absl::StrCat("m", i), i + 1, "server full"));
    members.push_back(std::move(member));
  }
  ASSERT_OK_AND_ASSIGN(ChatClient extra, Connect());
  EXPECT_EQ(extra.NextLine(), "ERROR server full");
  EXPECT_OK(extra.ExpectClosed());
  members.pop_back();  // Room for the scrape.
  ASSERT_OK_AND_ASSIGN(Scrape after,
                       ScrapeUntil(series, before.Get(series) + 1));
  EXPECT_GE(after.Get(series), before.Get(series) + 1);
}

}  // namespace
}  // namespace chatd_test
