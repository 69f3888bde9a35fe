// Cluster mode (several chatd processes sharing groups over NATS) from
// outside: real chatd processes ("hosts") started with --nats_url, real
// nats-server processes (one, or a three-node loopback cluster), line
// members spread over the hosts. What /work/notes/cluster-spec.md promises:
// members of one group on different hosts chat as on one server, names are
// cluster-wide, a lost NATS link is announced and recovered from, a host
// that stops or crashes has its members announced as left, private
// messages cross hosts, /metrics shows the backplane.
//
// Every test keeps a ledger: per name, what the member did (joined, each
// message, left), in order. A receiver is checked per subject against the
// part of the ledger after its own join, either strictly (exactly that,
// nothing lost: pairs the scenario must not disturb) or loosely (pairs
// across a broken link: any loss, and presence may flap, but never a
// duplicate or a reordering per sender, never a message while the sender is
// not shown as present, and in the end the sender's last message and the
// right presence). Messages are NumberedMessage(name, seq), so a
// duplicate, a reordering or a torn line shows in the sequence numbers.
//
// Presence propagates between hosts in milliseconds, so tests never assume
// it: they poll /who until it lists everybody before they count on a
// member being known on another host.
//
// Skipped where /usr/sbin/nats-server is missing.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/chat_client.h"
#include "tests/http_client.h"
#include "tests/line_recorder.h"
#include "tests/nats_server_process.h"
#include "tests/numbered_message.h"
#include "tests/server_process.h"
#include "tests/status_macros.h"
#include "tests/transcript.h"

namespace chatd_test {
namespace {

constexpr char kGroup[] = "room";
constexpr int kHeartbeatMs = 200;
constexpr int kHostTimeoutMs = 1500;
constexpr int kReconnectWaitMs = 100;
// How long anything that should happen soon may take: CI runs these under
// AddressSanitizer and ThreadSanitizer on two cores.
constexpr absl::Duration kSettle = absl::Seconds(15);

constexpr char kLinkLost[] = "* link to other servers lost";
constexpr char kLinkRestored[] = "* link to other servers restored";
constexpr char kWhoPrefix[] = "* online in ";

// A member of the group, on host `host`, with a recorder reading all the
// time.
struct Peer {
  std::string name;
  int host = 0;
  ChatClient client;
  std::unique_ptr<LineRecorder> recorder;  // After `client`: stops first.
  // Ledger sizes when it joined: it expects each subject's entries from
  // there on.
  std::map<std::string, size_t> snapshot;
  // Who was online (as far as the test knew) when it joined.
  std::set<std::string> present_at_join;
  // Its view of others' presence at its join is unknown (it joined while
  // the link was down): checked loosely.
  bool uncertain = false;
  // Left or crashed: no longer checked as a receiver.
  bool gone = false;

  std::string Describe() const { return absl::StrCat(name, "@host", host); }
};

enum class PairCheck { kStrict, kLoose, kSkip };
using PairRule =
    std::function<PairCheck(const Peer& receiver, int subject_host)>;

PairCheck AllStrict(const Peer&, int) { return PairCheck::kStrict; }

// What is left of the time until `deadline` (never negative): one deadline
// for a loop of waits, so a broken server fails it once, not per member.
absl::Duration Left(absl::Time deadline) {
  return std::max(deadline - absl::Now(), absl::ZeroDuration());
}

// Lines the transcript check ignores: /who replies, link notices (counted
// separately), private messages.
bool IsNotice(absl::string_view line) {
  return absl::StartsWith(line, kWhoPrefix) ||
         absl::StartsWith(line, "* link to other servers ") ||
         absl::StartsWith(line, "(private) ");
}

std::vector<std::string> WithoutNotices(std::vector<std::string> lines) {
  lines.erase(std::remove_if(lines.begin(), lines.end(),
                             [](const std::string& l) { return IsNotice(l); }),
              lines.end());
  return lines;
}

size_t CountOf(const std::vector<std::string>& lines, absl::string_view line) {
  return static_cast<size_t>(std::count(lines.begin(), lines.end(), line));
}

// The sequence number of a NumberedMessage from `sender`, or -1 when `text`
// is not one.
int SeqOf(const std::string& sender, const std::string& text) {
  absl::string_view rest = text;
  if (!absl::ConsumePrefix(&rest, "seq ")) return -1;
  const size_t space = rest.find(' ');
  int seq = -1;
  if (space == absl::string_view::npos ||
      !absl::SimpleAtoi(rest.substr(0, space), &seq) || seq < 0) {
    return -1;
  }
  return NumberedMessage(sender, seq) == text ? seq : -1;
}

std::string Show(const std::string& entry) {
  return absl::StrCat("\"", absl::CHexEscape(entry.substr(0, 60)),
                      entry.size() > 60 ? "...\"" : "\"");
}

// The loose check of what `receiver` got from `subject` (see the top of
// the file); "" when fine.
std::string LooseViolation(const std::string& subject,
                           const std::vector<std::string>& got,
                           int initially_present /* 1, 0, -1: unknown */,
                           bool finally_present, int last_seq_sent) {
  int present = initially_present;
  int last_seq = -1;
  for (size_t i = 0; i < got.size(); ++i) {
    const std::string& entry = got[i];
    const std::string where = absl::StrCat(" at #", i, " from ", subject);
    if (entry == kJoined) {
      if (present == 1) return absl::StrCat("joined twice", where);
      present = 1;
    } else if (entry == kLeft) {
      if (present == 0) return absl::StrCat("left while absent", where);
      present = 0;
    } else {
      if (present == 0) {
        return absl::StrCat("message ", Show(entry), " while absent", where);
      }
      present = 1;
      const int seq = SeqOf(subject, entry);
      if (seq < 0)
        return absl::StrCat("not a numbered message ", Show(entry), where);
      if (seq == last_seq) return absl::StrCat("duplicate of seq ", seq, where);
      if (seq < last_seq) {
        return absl::StrCat("seq ", seq, " after seq ", last_seq, where);
      }
      last_seq = seq;
    }
  }
  if (present != -1 && (present == 1) != finally_present) {
    return absl::StrCat(
        subject, " shown as ", present == 1 ? "present" : "absent",
        " at the end, but it is ", finally_present ? "online" : "gone");
  }
  if (last_seq_sent >= 0 && last_seq != last_seq_sent) {
    return absl::StrCat("last message from ", subject, " is seq ", last_seq,
                        ", but it sent up to seq ", last_seq_sent);
  }
  return "";
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!NatsServerProcess::Available()) {
      GTEST_SKIP() << kNatsServerBinary << " is not installed";
    }
  }

  void TearDown() override {
    StopTraffic();
    for (size_t i = 0; i < hosts_.size(); ++i) {
      if (hosts_[i] != nullptr && crashed_.count(static_cast<int>(i)) == 0) {
        EXPECT_TRUE(hosts_[i]->IsRunning()) << "host " << i << " died";
      }
    }
  }

  // One nats-server.
  void StartNats() {
    ASSERT_OK_AND_ASSIGN(nats_, NatsServerProcess::CreateAndStart({}));
  }
  // A three-node nats-server cluster.
  void StartNatsCluster() {
    ASSERT_OK_AND_ASSIGN(nats_cluster_, NatsCluster::Start(3));
  }

  // `n` chatd processes ("a", "b", ...); host i gets --nats_url=url(i).
  void StartHosts(int n, const std::function<std::string(int)>& url,
                  int threads = 2) {
    for (int i = 0; i < n; ++i) {
      ServerProcess::Options options;
      options.threads = threads;
      options.capture_log = true;
      options.extra_flags = {
          absl::StrCat("--nats_url=", url(i)),
          absl::StrCat("--node_name=",
                       std::string(1, static_cast<char>('a' + i))),
          absl::StrCat("--cluster_heartbeat_ms=", kHeartbeatMs),
          absl::StrCat("--cluster_host_timeout_ms=", kHostTimeoutMs),
          absl::StrCat("--nats_reconnect_wait_ms=", kReconnectWaitMs),
      };
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> host,
                           ServerProcess::Start(options));
      hosts_.push_back(std::move(host));
    }
    logical_hosts_ = n;
  }
  // For the harness's self-check: one chatd without cluster flags standing
  // for `n` hosts (host(i) is that one server for every i).
  void StartOnePlainServerAsHosts(int n) {
    ServerProcess::Options options;
    options.threads = 2;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerProcess> server,
                         ServerProcess::Start(options));
    hosts_.push_back(std::move(server));
    logical_hosts_ = n;
  }
  void StartHostsOnNats(int n, int threads = 2) {
    const std::string url = nats_->client_url();
    StartHosts(
        n, [&url](int) { return url; }, threads);
  }

  ServerProcess& host(int i) { return *hosts_[i % hosts_.size()]; }

  // Joins `name` on host `host` and records the join in the ledger.
  absl::StatusOr<Peer*> JoinPeer(int host, const std::string& name,
                                 bool uncertain = false) {
    auto peer = std::make_unique<Peer>();
    peer->name = name;
    peer->host = host;
    peer->uncertain = uncertain;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [subject, entries] : ledger_) {
        peer->snapshot[subject] = entries.size();
      }
      peer->present_at_join = online_;
    }
    absl::StatusOr<ChatClient> client =
        ChatClient::Join(this->host(host).port(), kGroup, name, -1);
    if (!client.ok()) return client.status();
    peer->client = *std::move(client);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ledger_[name].push_back(kJoined);
      online_.insert(name);
      host_of_[name] = host;
    }
    peer->recorder = std::make_unique<LineRecorder>(&peer->client);
    peers_.push_back(std::move(peer));
    return peers_.back().get();
  }

  // JoinPeer(), then waits until every member's /who lists everybody.
  Peer* JoinAndSync(int host, const std::string& name) {
    absl::StatusOr<Peer*> peer = JoinPeer(host, name);
    EXPECT_OK(peer) << " joining " << name << " on host " << host;
    if (!peer.ok()) return nullptr;
    EXPECT_OK(WaitForWhoEverywhere());
    return *peer;
  }

  // Sends the member's next numbered message, noting it in the ledger.
  absl::Status Say(Peer& peer) {
    std::string text;
    {
      std::lock_guard<std::mutex> lock(mu_);
      text = NumberedMessage(peer.name, next_seq_[peer.name]++);
      ledger_[peer.name].push_back(text);
    }
    return peer.client.SendLine(text);
  }
  // The next numbered message of `name`, noted in the ledger, for a
  // connection that is not a Peer.
  std::string NoteNext(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    std::string text = NumberedMessage(name, next_seq_[name]++);
    ledger_[name].push_back(text);
    return text;
  }
  // The sequence number `name`'s next message will have.
  int NextSeq(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    return next_seq_[name];
  }
  void NoteJoined(const std::string& name, int host) {
    std::lock_guard<std::mutex> lock(mu_);
    ledger_[name].push_back(kJoined);
    online_.insert(name);
    host_of_[name] = host;
  }
  void NoteLeft(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    ledger_[name].push_back(kLeft);
    online_.erase(name);
  }

  // Each of `senders` sends `count` messages, all at once, one thread each.
  void SayAtOnce(const std::vector<Peer*>& senders, int count) {
    std::vector<absl::Status> results(senders.size());
    std::vector<std::thread> threads;
    for (size_t s = 0; s < senders.size(); ++s) {
      threads.emplace_back([&, s] {
        for (int k = 0; k < count && results[s].ok(); ++k) {
          results[s] = Say(*senders[s]);
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    for (size_t s = 0; s < senders.size(); ++s) {
      EXPECT_OK(results[s]) << " sending from " << senders[s]->Describe();
    }
  }
  void EveryoneSays(int count) { SayAtOnce(AlivePeers(), count); }

  // Every `pace`, each of `senders` sends a message, on threads of its
  // own, until StopTraffic().
  void StartTraffic(const std::vector<Peer*>& senders, absl::Duration pace) {
    stop_traffic_ = false;
    traffic_results_.assign(senders.size(), absl::OkStatus());
    for (size_t s = 0; s < senders.size(); ++s) {
      traffic_.emplace_back([this, s, senders, pace] {
        while (!stop_traffic_ && traffic_results_[s].ok()) {
          traffic_results_[s] = Say(*senders[s]);
          absl::SleepFor(pace);
        }
      });
    }
    traffic_senders_ = senders;
  }
  void StopTraffic() {
    stop_traffic_ = true;
    for (std::thread& thread : traffic_) thread.join();
    for (size_t s = 0; s < traffic_.size(); ++s) {
      EXPECT_OK(traffic_results_[s])
          << " sending from " << traffic_senders_[s]->Describe();
    }
    traffic_.clear();
  }

  std::vector<Peer*> AlivePeers() {
    std::vector<Peer*> alive;
    for (auto& peer : peers_) {
      if (!peer->gone) alive.push_back(peer.get());
    }
    return alive;
  }
  std::vector<Peer*> PeersOn(int host) {
    std::vector<Peer*> on;
    for (Peer* peer : AlivePeers()) {
      if (peer->host == host) on.push_back(peer);
    }
    return on;
  }

  // The member sends /quit; it is gone.
  void Quit(Peer& peer) {
    NoteLeft(peer.name);
    peer.gone = true;
    EXPECT_OK(peer.client.SendLine("/quit"));
    EXPECT_OK(peer.recorder->WaitForEnd(kSettle)) << peer.Describe();
  }
  // Host `h` has crashed or been killed: its members are gone.
  void MarkHostCrashed(int h) {
    crashed_.insert(h);
    for (Peer* peer : PeersOn(h)) {
      NoteLeft(peer->name);
      peer->gone = true;
    }
  }

  // Waits until `peer` has received `line` at least `count` times.
  absl::Status WaitForLineCount(Peer& peer, const std::string& line,
                                size_t count,
                                absl::Duration timeout = kSettle) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      const std::vector<std::string> lines = peer.recorder->Lines();
      const size_t seen = CountOf(lines, line);
      if (seen >= count) return absl::OkStatus();
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            peer.Describe(), " got \"", line, "\" ", seen, " times, not ",
            count, ", within ", absl::FormatDuration(timeout), " (",
            lines.size(), " lines)"));
      }
      absl::Status more = peer.recorder->WaitForCount(
          lines.size() + 1,
          std::min(deadline - absl::Now(), absl::Milliseconds(100)));
      if (!more.ok() && !absl::IsDeadlineExceeded(more)) {
        if (peer.recorder->WaitForEnd(absl::ZeroDuration()).ok()) {
          return absl::UnavailableError(absl::StrCat(
              peer.Describe(), " lost its connection waiting for \"", line,
              "\": ", more.ToString()));
        }
      }
    }
  }

  // The first /who reply among `peer`'s lines from index `from` on.
  absl::StatusOr<std::string> WhoReplyFrom(Peer& peer, size_t from,
                                           absl::Time deadline) {
    while (true) {
      const std::vector<std::string> lines = peer.recorder->Lines();
      for (size_t i = from; i < lines.size(); ++i) {
        if (absl::StartsWith(lines[i], kWhoPrefix)) return lines[i];
      }
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat("no /who reply at ", peer.Describe()));
      }
      if (peer.recorder->WaitForEnd(absl::ZeroDuration()).ok()) {
        return absl::UnavailableError(
            absl::StrCat(peer.Describe(), " lost its connection"));
      }
      peer.recorder
          ->WaitForCount(lines.size() + 1, std::min(deadline - absl::Now(),
                                                    absl::Milliseconds(100)))
          .IgnoreError();
    }
  }

  // Sends /who from `peer` until the reply lists exactly `names`.
  absl::Status WaitForWho(Peer& peer, std::vector<std::string> names,
                          absl::Duration timeout = kSettle) {
    std::sort(names.begin(), names.end());
    const std::string want =
        absl::StrCat(kWhoPrefix, kGroup, ": ", absl::StrJoin(names, ", "));
    const absl::Time deadline = absl::Now() + timeout;
    std::string last = "<none>";
    while (true) {
      const size_t from = peer.recorder->Count();
      absl::Status sent = peer.client.SendLine("/who");
      if (!sent.ok()) return sent;
      absl::StatusOr<std::string> reply = WhoReplyFrom(peer, from, deadline);
      if (!reply.ok()) {
        return absl::Status(
            reply.status().code(),
            absl::StrCat(reply.status().message(), "; wanted \"", want,
                         "\", last \"", last, "\""));
      }
      if (*reply == want) return absl::OkStatus();
      last = *reply;
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            peer.Describe(), ": /who says \"", last, "\", wanted \"", want,
            "\" within ", absl::FormatDuration(timeout)));
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  }

  // WaitForWho() on every member still there, for everybody online.
  absl::Status WaitForWhoEverywhere(absl::Duration timeout = kSettle) {
    std::vector<std::string> names;
    {
      std::lock_guard<std::mutex> lock(mu_);
      names.assign(online_.begin(), online_.end());
    }
    const absl::Time deadline = absl::Now() + timeout;
    for (Peer* peer : AlivePeers()) {
      absl::Status status = WaitForWho(*peer, names, deadline - absl::Now());
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  // Everything wrong with what the members still there got, per `rule`;
  // "" when all is well.
  std::string Violations(const PairRule& rule) {
    std::map<std::string, std::vector<std::string>> ledger;
    std::set<std::string> online;
    std::map<std::string, int> host_of;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ledger = ledger_;
      online = online_;
      host_of = host_of_;
    }
    std::string report;
    for (Peer* peer : AlivePeers()) {
      Transcript got = BySubject(WithoutNotices(peer->recorder->Lines()));
      std::set<std::string> subjects;
      for (const auto& [subject, entries] : ledger) subjects.insert(subject);
      for (const auto& [subject, entries] : got) subjects.insert(subject);
      subjects.erase(peer->name);
      for (const std::string& subject : subjects) {
        const std::string at = absl::StrCat(" (at ", peer->Describe(), ")\n");
        if (subject == kUnparsed || ledger.count(subject) == 0) {
          absl::StrAppend(
              &report, "unexpected lines under ", subject, ": ",
              absl::StrJoin(got[subject], " | ",
                            [](std::string* out, const std::string& line) {
                              out->append(Show(line));
                            }),
              at);
          continue;
        }
        const int subject_host = host_of[subject];
        PairCheck check =
            peer->uncertain ? PairCheck::kLoose : rule(*peer, subject_host);
        if (check == PairCheck::kSkip) continue;
        const std::vector<std::string>& all = ledger[subject];
        auto snap = peer->snapshot.find(subject);
        const size_t from = snap == peer->snapshot.end() ? 0 : snap->second;
        std::vector<std::string> expected(
            all.begin() + std::min(from, all.size()), all.end());
        std::vector<std::string> received = got[subject];
        // A member already online on another host when this one joined may
        // be announced to it once more, as its host learns of it.
        const bool known_before = peer->present_at_join.count(subject) > 0;
        const bool cross_host = subject_host != peer->host;
        if (check == PairCheck::kStrict) {
          if (known_before && cross_host && !received.empty() &&
              received.front() == kJoined &&
              (expected.empty() || expected.front() != kJoined)) {
            received.erase(received.begin());
          }
          std::string diff =
              DescribeDifference({{subject, expected}}, {{subject, received}});
          if (!diff.empty()) {
            absl::StrAppend(&report, "strict: ", diff.substr(0, 400), at);
          }
          continue;
        }
        int last_seq_sent = -1;
        for (const std::string& entry : expected) {
          if (entry != kJoined && entry != kLeft) {
            last_seq_sent = SeqOf(subject, entry);
          }
        }
        const int initially = peer->uncertain || (known_before && cross_host)
                                  ? -1
                                  : (known_before ? 1 : 0);
        std::string violation =
            LooseViolation(subject, received, initially,
                           online.count(subject) > 0, last_seq_sent);
        if (!violation.empty()) {
          absl::StrAppend(&report, "loose: ", violation, at);
        }
      }
    }
    return report;
  }

  // Polls Violations() until there are none, or fails with the last ones.
  void ExpectConsistentEventually(const PairRule& rule,
                                  absl::Duration timeout = kSettle) {
    const absl::Time deadline = absl::Now() + timeout;
    std::string report;
    while (true) {
      report = Violations(rule);
      if (report.empty()) return;
      if (absl::Now() >= deadline) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    FAIL() << "after " << absl::FormatDuration(timeout) << ":\n" << report;
  }

  // The one-group scenario of ThreeHostsOneGroup and
  // SameAgainstThreeNodeNatsCluster, on the hosts started.
  void ChatInOneGroupAcrossHosts() {
    const int n = logical_hosts_;
    // Nine members round the hosts: consecutive members of a host land on
    // different workers too.
    for (int i = 0; i < 9; ++i) {
      ASSERT_NE(JoinAndSync(i % n, absl::StrCat("m", i)), nullptr);
    }
    ASSERT_NO_FATAL_FAILURE(ExpectConsistentEventually(AllStrict));
    // Everybody at once.
    ASSERT_NO_FATAL_FAILURE(EveryoneSays(50));
    ASSERT_NO_FATAL_FAILURE(ExpectConsistentEventually(AllStrict));

    // Newcomers, one per host, pipeline their join, two messages and their
    // quit in one write: everybody sees the join first and the leave last.
    std::vector<ChatClient> newcomers;
    for (int h = 0; h < n; ++h) {
      const std::string name = absl::StrCat("p", h);
      ChatClient client;
      ASSERT_OK(client.Connect(host(h).port()));
      NoteJoined(name, h);
      const std::string first = NoteNext(name);
      const std::string second = NoteNext(name);
      NoteLeft(name);
      ASSERT_OK(client.SendRaw(absl::StrCat("JOIN ", kGroup, " ", name, "\n",
                                            first, "\n", second, "\n/quit\n")));
      newcomers.push_back(std::move(client));
    }
    for (ChatClient& client : newcomers) {
      absl::StatusOr<std::string> line;
      while ((line = client.ReadLine(kSettle)).ok()) {
      }
      EXPECT_TRUE(absl::IsUnavailable(line.status())) << line.status();
    }
    // Leavers, one per host, send last words and quit.
    std::vector<Peer*> leavers;
    for (int h = 0; h < n; ++h) leavers.push_back(PeersOn(h).front());
    ASSERT_NO_FATAL_FAILURE(SayAtOnce(leavers, 5));
    for (Peer* leaver : leavers) ASSERT_NO_FATAL_FAILURE(Quit(*leaver));
    ASSERT_NO_FATAL_FAILURE(EveryoneSays(3));
    ASSERT_NO_FATAL_FAILURE(ExpectConsistentEventually(AllStrict));
    EXPECT_OK(WaitForWhoEverywhere());
  }

  std::unique_ptr<NatsServerProcess> nats_;
  std::unique_ptr<NatsCluster> nats_cluster_;
  std::vector<std::unique_ptr<ServerProcess>> hosts_;
  int logical_hosts_ = 0;  // hosts_.size(), but for the self-check.
  std::set<int> crashed_;  // Hosts a test killed.
  std::vector<std::unique_ptr<Peer>> peers_;

  std::mutex mu_;
  std::map<std::string, std::vector<std::string>> ledger_;  // Guarded by mu_.
  std::map<std::string, int> next_seq_;                     // Guarded by mu_.
  std::set<std::string> online_;                            // Guarded by mu_.
  std::map<std::string, int> host_of_;                      // Guarded by mu_.

  std::atomic<bool> stop_traffic_{false};
  std::vector<std::thread> traffic_;
  std::vector<absl::Status> traffic_results_;
  std::vector<Peer*> traffic_senders_;
};

// Scrapes /metrics of `port` until `name` (summed over its series)
// satisfies `ok`; its last value, or why not.
absl::StatusOr<double> MetricWhen(int http_port, const std::string& name,
                                  const std::function<bool(double)>& ok,
                                  absl::Duration timeout = kSettle) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last = "no scrape";
  while (true) {
    absl::StatusOr<HttpReply> reply = HttpGet(http_port, "/metrics");
    if (reply.ok() && reply->status == 200) {
      bool found = false;
      double sum = 0;
      for (absl::string_view line : absl::StrSplit(reply->body, '\n')) {
        if (line.empty() || line[0] == '#') continue;
        const size_t end = line.find_first_of(" {");
        if (end == absl::string_view::npos || line.substr(0, end) != name) {
          continue;
        }
        const size_t space = line.rfind(' ');
        double value = 0;
        if (absl::SimpleAtod(line.substr(space + 1), &value)) {
          found = true;
          sum += value;
        }
      }
      if (found && ok(sum)) return sum;
      last = found ? absl::StrCat(name, " = ", sum)
                   : absl::StrCat("no ", name, " in /metrics");
    } else {
      last = reply.ok() ? reply->status_line : reply.status().ToString();
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("/metrics on port ", http_port, " within ",
                       absl::FormatDuration(timeout), ": ", last));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

// ---------------------------------------------------------------------------
// The harness itself: nats-server starts, is killed, restarts on the same
// port, stops and continues; a three-node cluster forms routes and heals.

TEST(NatsServerProcessTest, StartsKillsAndRestartsOnTheSamePort) {
  if (!NatsServerProcess::Available()) {
    GTEST_SKIP() << kNatsServerBinary << " is not installed";
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NatsServerProcess> nats,
                       NatsServerProcess::CreateAndStart({}));
  const int port = nats->client_port();
  EXPECT_EQ(nats->client_url(), absl::StrCat("nats://127.0.0.1:", port));
  {
    ChatClient client;
    ASSERT_OK(client.Connect(port));
    const std::string info = client.NextLine();
    EXPECT_TRUE(absl::StartsWith(info, "INFO {")) << info;
    EXPECT_TRUE(absl::StrContains(info, "\"server_name\":\"nats_")) << info;
  }
  ASSERT_OK_AND_ASSIGN(
      std::string varz,
      HttpGetBody(nats->monitor_port(), "/varz", absl::Seconds(5)));
  EXPECT_TRUE(absl::StrContains(varz, "\"server_name\"")) << varz;
  const pid_t first_pid = nats->pid();

  ASSERT_OK(nats->Kill());
  EXPECT_FALSE(nats->IsRunning());
  {
    ChatClient client;
    EXPECT_FALSE(client.Connect(port).ok()) << "port " << port << " open";
  }
  ASSERT_OK(nats->Restart());
  EXPECT_EQ(nats->client_port(), port);
  EXPECT_NE(nats->pid(), first_pid);
  EXPECT_OK(nats->CheckGreeting(absl::Seconds(5)));

  // Stopped, it accepts (the kernel does) but never greets.
  ASSERT_OK(nats->Signal(SIGSTOP));
  EXPECT_FALSE(nats->CheckGreeting(absl::Milliseconds(300)).ok());
  ASSERT_OK(nats->Signal(SIGCONT));
  EXPECT_OK(nats->CheckGreeting(absl::Seconds(5)));

  // A restart while running works too.
  ASSERT_OK(nats->Restart());
  EXPECT_OK(nats->CheckGreeting(absl::Seconds(5)));

  // A clean exit (2.9.10 exits with code 1 after SIGTERM), not a kill.
  EXPECT_OK(nats->Stop());
  EXPECT_FALSE(nats->Signal(SIGCONT).ok());
  ASSERT_OK_AND_ASSIGN(std::string log, nats->Log());
  EXPECT_TRUE(absl::StrContains(log, "Server is ready")) << log;
}

TEST(NatsServerProcessTest, ThreeNodeClusterFormsAndHealsAfterAKill) {
  if (!NatsServerProcess::Available()) {
    GTEST_SKIP() << kNatsServerBinary << " is not installed";
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NatsCluster> cluster,
                       NatsCluster::Start(3));
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(int routes, cluster->node(i).NumRoutes());
    EXPECT_EQ(routes, 2) << cluster->node(i).server_name();
  }
  EXPECT_EQ(cluster->UrlsStartingAt(1),
            absl::StrCat(cluster->node(1).client_url(), ",",
                         cluster->node(2).client_url(), ",",
                         cluster->node(0).client_url()));
  ASSERT_OK(cluster->node(2).Kill());
  // The survivors see the route go, then come back after the restart.
  const absl::Time deadline = absl::Now() + kSettle;
  while (true) {
    absl::StatusOr<int> routes = cluster->node(0).NumRoutes();
    ASSERT_OK(routes);
    if (*routes == 1) break;
    ASSERT_LT(absl::Now(), deadline) << "n0 still has " << *routes;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_OK(cluster->node(2).Restart());
  EXPECT_OK(cluster->WaitForRoutes(kSettle));
}

// The loose check itself, on made-up transcripts.
TEST(LooseCheckTest, AcceptsLossAndFlapsButNoDuplicateReorderOrStray) {
  const std::string m0 = NumberedMessage("x", 0);
  const std::string m1 = NumberedMessage("x", 1);
  const std::string m2 = NumberedMessage("x", 2);
  EXPECT_EQ(LooseViolation("x", {m0, m2}, 1, true, 2), "");
  EXPECT_EQ(LooseViolation("x", {m0, kLeft, kJoined, m2}, 1, true, 2), "");
  EXPECT_EQ(LooseViolation("x", {kJoined, m1, m2}, 0, true, 2), "");
  EXPECT_EQ(LooseViolation("x", {kJoined, m2}, -1, true, 2), "");
  EXPECT_EQ(LooseViolation("x", {m2, kLeft}, 1, false, 2), "");
  EXPECT_THAT(LooseViolation("x", {m0, m0, m2}, 1, true, 2),
              ::testing::HasSubstr("duplicate"));
  EXPECT_THAT(LooseViolation("x", {m1, m0, m2}, 1, true, 2),
              ::testing::HasSubstr("after seq"));
  EXPECT_THAT(LooseViolation("x", {m0, kLeft, m1, kJoined, m2}, 1, true, 2),
              ::testing::HasSubstr("while absent"));
  EXPECT_THAT(LooseViolation("x", {m0, m2}, 0, true, 2),
              ::testing::HasSubstr("while absent"));
  EXPECT_THAT(LooseViolation("x", {kJoined, m0, m2}, 1, true, 2),
              ::testing::HasSubstr("joined twice"));
  EXPECT_THAT(LooseViolation("x", {m0, m1}, 1, true, 2),
              ::testing::HasSubstr("sent up to seq 2"));
  EXPECT_THAT(LooseViolation("x", {m0, m2}, 1, false, 2),
              ::testing::HasSubstr("at the end"));
  EXPECT_THAT(LooseViolation("x", {m0, "seq 1 torn", m2}, 1, true, 2),
              ::testing::HasSubstr("not a numbered message"));
}

// The fixture's own steps (joins synced by /who, the ledger, pipelined
// newcomers, quits, the strict check) against one ordinary chatd standing
// for three hosts: what cluster mode must look like from any one server.
TEST_F(ClusterTest, HarnessSelfCheckOnOnePlainServer) {
  ASSERT_NO_FATAL_FAILURE(StartOnePlainServerAsHosts(3));
  ASSERT_NO_FATAL_FAILURE(ChatInOneGroupAcrossHosts());
  // The /metrics reader too: six members are left.
  EXPECT_OK(MetricWhen(host(0).http_port(), "chatd_members",
                       [](double v) { return v == 6; }));
}

// ---------------------------------------------------------------------------
// One group over three hosts.

TEST_F(ClusterTest, ThreeHostsOneGroup) {
  ASSERT_NO_FATAL_FAILURE(StartNats());
  ASSERT_NO_FATAL_FAILURE(StartHostsOnNats(3, /*threads=*/2));
  ASSERT_NO_FATAL_FAILURE(ChatInOneGroupAcrossHosts());
}

TEST_F(ClusterTest, SameAgainstThreeNodeNatsCluster) {
  ASSERT_NO_FATAL_FAILURE(StartNatsCluster());
  // Each host first tries a node of its own, the others after it.
  ASSERT_NO_FATAL_FAILURE(StartHosts(
      3, [this](int i) { return nats_cluster_->UrlsStartingAt(i); },
      /*threads=*/2));
  ASSERT_NO_FATAL_FAILURE(ChatInOneGroupAcrossHosts());
}

// ---------------------------------------------------------------------------
// Names are cluster-wide: the same name joined on two hosts at the same
// moment ends with exactly one of them.

TEST_F(ClusterTest, NameRaceAcrossHosts) {
  ASSERT_NO_FATAL_FAILURE(StartNats());
  ASSERT_NO_FATAL_FAILURE(StartHostsOnNats(3));
  ASSERT_NE(JoinAndSync(2, "w"), nullptr);
  Peer& watcher = *peers_.back();

  struct Racer {
    std::string name;
    int host = 0;
    ChatClient client;
    std::string reply;                       // The answer to its JOIN.
    std::unique_ptr<LineRecorder> recorder;  // Once welcomed.
    bool Welcomed() const { return absl::StartsWith(reply, "* you joined "); }
    bool Open() const {
      return Welcomed() && !recorder->WaitForEnd(absl::ZeroDuration()).ok();
    }
  };
  constexpr int kNames = 8;
  std::vector<std::string> names;
  std::vector<std::unique_ptr<Racer>> racers;  // Two per name: hosts 0, 1.
  for (int i = 0; i < kNames; ++i) {
    names.push_back(absl::StrCat("r", i));
    for (int h = 0; h < 2; ++h) {
      auto racer = std::make_unique<Racer>();
      racer->name = names.back();
      racer->host = h;
      ASSERT_OK(racer->client.Connect(host(h).port()));
      racers.push_back(std::move(racer));
    }
  }
  // Both JOINs of a name back to back (microseconds apart, far less than
  // presence takes to cross), host 0 first for even names, host 1 first for
  // odd ones.
  for (int i = 0; i < kNames; ++i) {
    Racer& a = *racers[2 * i + (i % 2)];
    Racer& b = *racers[2 * i + 1 - (i % 2)];
    ASSERT_OK(a.client.SendLine(absl::StrCat("JOIN ", kGroup, " ", a.name)));
    ASSERT_OK(b.client.SendLine(absl::StrCat("JOIN ", kGroup, " ", b.name)));
  }
  int refused_at_once = 0;
  for (auto& racer : racers) {
    racer->reply = racer->client.NextLine(kSettle);
    if (racer->Welcomed()) {
      racer->recorder = std::make_unique<LineRecorder>(&racer->client);
    } else {
      EXPECT_EQ(racer->reply, "ERROR name taken")
          << racer->name << " on host " << racer->host;
      EXPECT_OK(racer->client.ExpectClosed(kSettle))
          << racer->name << " on host " << racer->host;
      ++refused_at_once;
    }
  }
  // Settles: at most one connection per name stays.
  const absl::Time deadline = absl::Now() + kSettle;
  while (absl::Now() < deadline) {
    bool settled = true;
    for (int i = 0; i < kNames; ++i) {
      settled =
          settled && !(racers[2 * i]->Open() && racers[2 * i + 1]->Open());
    }
    if (settled) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  std::fprintf(stderr, "%d of %d races were refused at once\n", refused_at_once,
               kNames);
  for (int i = 0; i < kNames; ++i) {
    const int open = racers[2 * i]->Open() + racers[2 * i + 1]->Open();
    EXPECT_EQ(open, 1) << names[i] << " is open on " << open << " hosts";
    for (int k = 0; k < 2; ++k) {
      Racer& racer = *racers[2 * i + k];
      if (!racer.Welcomed() || racer.Open()) continue;
      // Admitted, then refused once the other host's older claim arrived.
      const std::vector<std::string> lines = racer.recorder->Lines();
      EXPECT_TRUE(!lines.empty() && lines.back() == "ERROR name taken")
          << racer.name << " on host " << racer.host
          << " was closed after: " << absl::StrJoin(lines, " | ");
    }
  }
  // The third member's /who lists every name exactly once.
  std::vector<std::string> everybody = names;
  everybody.push_back("w");
  EXPECT_OK(WaitForWho(watcher, everybody));
  // And each winner is still there, and still joined.
  for (auto& racer : racers) {
    if (!racer->Open()) continue;
    const size_t from = racer->recorder->Count();
    ASSERT_OK(racer->client.SendLine("/who"));
    bool answered = false;
    const absl::Time until = absl::Now() + kSettle;
    while (!answered && absl::Now() < until) {
      const std::vector<std::string> lines = racer->recorder->Lines();
      for (size_t i = from; i < lines.size(); ++i) {
        if (absl::StartsWith(lines[i], kWhoPrefix)) {
          answered = true;
          std::vector<std::string> listed = absl::StrSplit(
              absl::string_view(lines[i]).substr(lines[i].find(": ") + 2),
              ", ");
          EXPECT_EQ(std::count(listed.begin(), listed.end(), racer->name), 1)
              << lines[i];
        }
      }
      if (!answered) {
        racer->recorder->WaitForCount(lines.size() + 1, absl::Milliseconds(100))
            .IgnoreError();
      }
    }
    EXPECT_TRUE(answered) << racer->name << " on host " << racer->host
                          << " did not answer /who";
    EXPECT_TRUE(racer->Open()) << racer->name << " was closed late";
  }
}

// ---------------------------------------------------------------------------
// nats-server killed and restarted on the same port during traffic.

TEST_F(ClusterTest, NatsKilledAndRestarted) {
  ASSERT_NO_FATAL_FAILURE(StartNats());
  ASSERT_NO_FATAL_FAILURE(StartHostsOnNats(3));
  const char* const kNames[] = {"a0", "b0", "c0", "a1", "b1", "c1"};
  for (int i = 0; i < 6; ++i) ASSERT_NE(JoinAndSync(i % 3, kNames[i]), nullptr);
  ASSERT_NO_FATAL_FAILURE(EveryoneSays(10));
  ASSERT_NO_FATAL_FAILURE(ExpectConsistentEventually(AllStrict));
  const std::vector<Peer*> originals = AlivePeers();

  StartTraffic(originals, absl::Milliseconds(20));
  ASSERT_OK(WaitForLineCount(
      *originals.back(),
      absl::StrCat("a0: ", NumberedMessage("a0", NextSeq("a0") + 5)), 1))
      << "traffic does not flow";
  ASSERT_OK(nats_->Kill());
  const absl::Time lost_by = absl::Now() + kSettle;
  for (Peer* peer : originals) {
    EXPECT_OK(WaitForLineCount(*peer, kLinkLost, 1, Left(lost_by)))
        << peer->Describe();
  }
  // Local chatting goes on meanwhile (checked strictly below), and a member
  // joins host b during the outage.
  ASSERT_OK_AND_ASSIGN(Peer * late, JoinPeer(1, "late", /*uncertain=*/true));
  // The outage lasts longer than the host timeout.
  absl::SleepFor(absl::Milliseconds(kHostTimeoutMs + 500));
  ASSERT_OK(nats_->Restart());
  const absl::Time restored_by = absl::Now() + kSettle;
  for (Peer* peer : originals) {
    EXPECT_OK(WaitForLineCount(*peer, kLinkRestored, 1, Left(restored_by)))
        << peer->Describe();
  }
  StopTraffic();
  // The join during the outage is announced; everybody sees everybody.
  ASSERT_OK(WaitForWhoEverywhere());
  // Messages cross again.
  ASSERT_NO_FATAL_FAILURE(EveryoneSays(3));
  ASSERT_NO_FATAL_FAILURE(
      ExpectConsistentEventually([](const Peer& receiver, int subject_host) {
        return receiver.host == subject_host ? PairCheck::kStrict
                                             : PairCheck::kLoose;
      }));
  for (Peer* peer : originals) {
    const std::vector<std::string> lines = peer->recorder->Lines();
    EXPECT_EQ(CountOf(lines, kLinkLost), 1u) << peer->Describe();
    EXPECT_EQ(CountOf(lines, kLinkRestored), 1u) << peer->Describe();
  }
  EXPECT_LE(CountOf(late->recorder->Lines(), kLinkRestored), 1u);
}

// ---------------------------------------------------------------------------
// A chatd stopped (SIGSTOP) for longer than the host timeout, then
// continued.

TEST_F(ClusterTest, StoppedHostComesBack) {
  ASSERT_NO_FATAL_FAILURE(StartNats());
  ASSERT_NO_FATAL_FAILURE(StartHostsOnNats(3));
  const char* const kNames[] = {"a0", "b0", "c0", "a1", "b1", "c1"};
  for (int i = 0; i < 6; ++i) ASSERT_NE(JoinAndSync(i % 3, kNames[i]), nullptr);
  ASSERT_NO_FATAL_FAILURE(EveryoneSays(5));
  ASSERT_NO_FATAL_FAILURE(ExpectConsistentEventually(AllStrict));

  const absl::Time stopped = absl::Now();
  ASSERT_OK(host(2).Signal(SIGSTOP));
  const absl::Time left_by = absl::Now() + kSettle;
  std::vector<Peer*> others = PeersOn(0);
  for (Peer* peer : PeersOn(1)) others.push_back(peer);
  for (Peer* peer : others) {
    for (const char* name : {"c0", "c1"}) {
      EXPECT_OK(WaitForLineCount(*peer, absl::StrCat("* ", name, " has left"),
                                 1, Left(left_by)));
    }
  }
  std::fprintf(stderr, "host c's members announced as left after %s\n",
               absl::FormatDuration(absl::Now() - stopped).c_str());
  NoteLeft("c0");
  NoteLeft("c1");
  // The others chat on meanwhile.
  ASSERT_NO_FATAL_FAILURE(SayAtOnce(others, 5));
  ASSERT_OK(host(2).Signal(SIGCONT));
  // Announced as joined again (the transcripts below check that each of
  // the others got exactly one leave and one join for each).
  NoteJoined("c0", 2);
  NoteJoined("c1", 2);
  ASSERT_OK(WaitForWhoEverywhere());
  ASSERT_NO_FATAL_FAILURE(EveryoneSays(3));
  // Pairs away from host c saw exactly what happened, the stop included;
  // host c's members may have lost what was said while it was stopped.
  ASSERT_NO_FATAL_FAILURE(
      ExpectConsistentEventually([](const Peer& receiver, int) {
        return receiver.host == 2 ? PairCheck::kLoose : PairCheck::kStrict;
      }));
}

// ---------------------------------------------------------------------------
// A chatd killed with SIGKILL: its members leave, their names come free.

TEST_F(ClusterTest, CrashedHostsMembersLeave) {
  ASSERT_NO_FATAL_FAILURE(StartNats());
  ASSERT_NO_FATAL_FAILURE(StartHostsOnNats(3));
  const std::vector<std::pair<int, std::string>> who = {
      {0, "a0"}, {1, "b0"}, {2, "c0"}, {2, "c1"}};
  for (const auto& [h, name] : who) ASSERT_NE(JoinAndSync(h, name), nullptr);
  ASSERT_NO_FATAL_FAILURE(EveryoneSays(3));
  ASSERT_NO_FATAL_FAILURE(ExpectConsistentEventually(AllStrict));

  const absl::Time killed = absl::Now();
  ASSERT_OK(host(2).Signal(SIGKILL));
  MarkHostCrashed(2);
  const absl::Time left_by = absl::Now() + kSettle;
  for (Peer* peer : AlivePeers()) {
    for (const char* name : {"c0", "c1"}) {
      EXPECT_OK(WaitForLineCount(*peer, absl::StrCat("* ", name, " has left"),
                                 1, Left(left_by)));
    }
  }
  const absl::Duration took = absl::Now() - killed;
  std::fprintf(stderr, "host c's members announced as left after %s\n",
               absl::FormatDuration(took).c_str());
  EXPECT_LE(took, absl::Milliseconds(kHostTimeoutMs + kHeartbeatMs) +
                      absl::Seconds(3));
  ASSERT_NO_FATAL_FAILURE(ExpectConsistentEventually(AllStrict));

  // The names are free again, on either remaining host.
  for (const auto& [h, name] :
       std::vector<std::pair<int, std::string>>{{1, "c0"}, {0, "c1"}}) {
    absl::StatusOr<Peer*> peer;
    const absl::Time until = absl::Now() + absl::Seconds(3);
    int attempts = 0;
    do {
      ++attempts;
      peer = JoinPeer(h, name);
      if (peer.ok() ||
          !absl::StrContains(peer.status().message(), "name taken")) {
        break;
      }
      absl::SleepFor(absl::Milliseconds(50));
    } while (absl::Now() < until);
    ASSERT_OK(peer) << " joining " << name << " again after " << attempts
                    << " attempts";
  }
  ASSERT_OK(WaitForWhoEverywhere());
  ASSERT_NO_FATAL_FAILURE(EveryoneSays(3));
  ASSERT_NO_FATAL_FAILURE(ExpectConsistentEventually(AllStrict));
}

// ---------------------------------------------------------------------------
// One node of a three-node NATS cluster killed and restarted during
// traffic.

TEST_F(ClusterTest, RestartOneNodeOfThreeNodeCluster) {
  ASSERT_NO_FATAL_FAILURE(StartNatsCluster());
  ASSERT_NO_FATAL_FAILURE(StartHosts(
      3, [this](int i) { return nats_cluster_->UrlsStartingAt(i); }));
  const char* const kNames[] = {"a0", "b0", "c0", "a1", "b1", "c1"};
  for (int i = 0; i < 6; ++i) ASSERT_NE(JoinAndSync(i % 3, kNames[i]), nullptr);
  ASSERT_NO_FATAL_FAILURE(EveryoneSays(5));
  ASSERT_NO_FATAL_FAILURE(ExpectConsistentEventually(AllStrict));

  StartTraffic(AlivePeers(), absl::Milliseconds(20));
  ASSERT_OK(WaitForLineCount(
      *peers_.back(),
      absl::StrCat("a0: ", NumberedMessage("a0", NextSeq("a0") + 5)), 1))
      << "traffic does not flow";
  // Host c's node: c moves to another node, a and b are untouched.
  ASSERT_OK(nats_cluster_->node(2).Kill());
  absl::SleepFor(absl::Seconds(1));
  ASSERT_OK(nats_cluster_->node(2).Restart());
  ASSERT_OK(nats_cluster_->WaitForRoutes(kSettle));
  // Traffic on past the restart, then stop.
  ASSERT_OK(WaitForLineCount(
      *peers_.front(),
      absl::StrCat("c1: ", NumberedMessage("c1", NextSeq("c1") + 5)), 1))
      << "traffic from host c does not flow again";
  StopTraffic();
  ASSERT_OK(WaitForWhoEverywhere());
  ASSERT_NO_FATAL_FAILURE(EveryoneSays(3));
  ASSERT_NO_FATAL_FAILURE(
      ExpectConsistentEventually([](const Peer& receiver, int subject_host) {
        return receiver.host == 2 || subject_host == 2 ? PairCheck::kLoose
                                                       : PairCheck::kStrict;
      }));
}

// ---------------------------------------------------------------------------
// /metrics shows the backplane.

TEST_F(ClusterTest, MetricsShowBackplane) {
  ASSERT_NO_FATAL_FAILURE(StartNats());
  ASSERT_NO_FATAL_FAILURE(StartHostsOnNats(2));
  auto is = [](double want) { return [want](double v) { return v == want; }; };
  auto positive = [](double v) { return v > 0; };
  for (int h = 0; h < 2; ++h) {
    EXPECT_OK(
        MetricWhen(host(h).http_port(), "chatd_backplane_connected", is(1)));
    EXPECT_OK(MetricWhen(host(h).http_port(), "chatd_backplane_hosts", is(1)));
  }
  ASSERT_NE(JoinAndSync(0, "a0"), nullptr);
  ASSERT_NE(JoinAndSync(1, "b0"), nullptr);
  ASSERT_NO_FATAL_FAILURE(EveryoneSays(5));
  ASSERT_NO_FATAL_FAILURE(ExpectConsistentEventually(AllStrict));
  for (int h = 0; h < 2; ++h) {
    EXPECT_OK(MetricWhen(host(h).http_port(), "chatd_backplane_published_total",
                         positive));
    EXPECT_OK(MetricWhen(host(h).http_port(), "chatd_backplane_received_total",
                         positive));
    // Each member's five lines crossed, however many NATS messages they
    // were batched into.
    EXPECT_OK(MetricWhen(host(h).http_port(),
                         "chatd_backplane_events_published_total",
                         [](double v) { return v >= 5; }));
  }
  ASSERT_OK(nats_->Kill());
  for (int h = 0; h < 2; ++h) {
    EXPECT_OK(
        MetricWhen(host(h).http_port(), "chatd_backplane_connected", is(0)));
  }
  ASSERT_OK(nats_->Restart());
  for (int h = 0; h < 2; ++h) {
    EXPECT_OK(
        MetricWhen(host(h).http_port(), "chatd_backplane_connected", is(1)));
    EXPECT_OK(MetricWhen(host(h).http_port(),
                         "chatd_backplane_reconnects_total",
                         [](double v) { return v >= 1; }));
  }
}

// ---------------------------------------------------------------------------
// /msg to a member on another host.

TEST_F(ClusterTest, PrivateMessageAcrossHosts) {
  ASSERT_NO_FATAL_FAILURE(StartNats());
  ASSERT_NO_FATAL_FAILURE(StartHostsOnNats(2));
  Peer* alice = JoinAndSync(0, "alice");
  Peer* bob = JoinAndSync(1, "bob");
  Peer* carol = JoinAndSync(1, "carol");
  ASSERT_TRUE(alice != nullptr && bob != nullptr && carol != nullptr);
  const size_t alice_from = alice->recorder->Count();
  const size_t carol_from = carol->recorder->Count();
  ASSERT_OK(alice->client.SendLine("/msg bob hi"));
  EXPECT_OK(bob->recorder->WaitForLine("(private) alice: hi", kSettle));
  ASSERT_OK(bob->client.SendLine("/msg alice hello back"));
  EXPECT_OK(alice->recorder->WaitForLine("(private) bob: hello back", kSettle));
  // Nothing came back to alice for her own /msg.
  const std::vector<std::string> alice_lines = alice->recorder->Lines();
  for (size_t i = alice_from; i < alice_lines.size(); ++i) {
    EXPECT_NE(alice_lines[i], "(private) alice: hi");
  }
  // carol, in the group on bob's host, saw none of it (the transcripts
  // leave private lines out, so look for them here).
  ASSERT_NO_FATAL_FAILURE(EveryoneSays(1));
  ASSERT_NO_FATAL_FAILURE(ExpectConsistentEventually(AllStrict));
  const std::vector<std::string> carol_lines = carol->recorder->Lines();
  for (size_t i = carol_from; i < carol_lines.size(); ++i) {
    EXPECT_FALSE(absl::StartsWith(carol_lines[i], "(private) "))
        << carol_lines[i];
  }
}

}  // namespace
}  // namespace chatd_test
