#include "net/tls_context.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace chatd {
namespace {

// Certificates made by tools/dev-cert.sh, as users make them.
class TlsContextTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = new std::string(absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/tls"));
    other_ = new std::string(*dir_ + "-other");
    for (const std::string* dir : {dir_, other_}) {
      const std::string command =
          absl::StrCat("bash tools/dev-cert.sh ", *dir, " 2>/dev/null");
      ASSERT_EQ(std::system(command.c_str()), 0) << command;
    }
  }

  static TlsContext::Options Files(const std::string& dir) {
    TlsContext::Options options;
    options.cert_file = dir + "/server.pem";
    options.key_file = dir + "/server.key";
    return options;
  }

  // A client context trusting the dev CA, at most `max_version`.
  static SSL_CTX* Client(int max_version) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(ctx, max_version);
    // Old versions need the legacy security level to be offered at all.
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0");
    SSL_CTX_load_verify_locations(ctx, (*dir_ + "/ca.pem").c_str(), nullptr);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    return ctx;
  }

  struct Result {
    bool ok = false;
    std::string version;
    std::string cipher;
    std::string alpn;
  };

  // Runs a handshake in memory between `server` and a client of `client`.
  static Result Handshake(const TlsContext& server, SSL_CTX* client,
                          absl::string_view offer_alpn = "") {
    SSL* s = SSL_new(server.ctx());
    SSL* c = SSL_new(client);
    BIO* server_bio = nullptr;
    BIO* client_bio = nullptr;
    BIO_new_bio_pair(&server_bio, 0, &client_bio, 0);
    SSL_set_bio(s, server_bio, server_bio);
    SSL_set_bio(c, client_bio, client_bio);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    SSL_set_tlsext_host_name(c, "localhost");
    SSL_set1_host(c, "localhost");
    if (!offer_alpn.empty()) {
      SSL_set_alpn_protos(
          c, reinterpret_cast<const unsigned char*>(offer_alpn.data()),
          static_cast<unsigned int>(offer_alpn.size()));
    }
    Result result;
    bool server_done = false, client_done = false;
    for (int i = 0; i < 20 && !(server_done && client_done); ++i) {
      if (!client_done) {
        const int r = SSL_do_handshake(c);
        if (r == 1) {
          client_done = true;
        } else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ) {
          break;
        }
      }
      if (!server_done) {
        const int r = SSL_do_handshake(s);
        if (r == 1) {
          server_done = true;
        } else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ) {
          break;
        }
      }
    }
    ERR_clear_error();
    result.ok = server_done && client_done;
    if (result.ok) {
      result.version = SSL_get_version(s);
      result.cipher = SSL_get_cipher_name(s);
      const unsigned char* alpn = nullptr;
      unsigned int alpn_len = 0;
      SSL_get0_alpn_selected(c, &alpn, &alpn_len);
      result.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
    }
    SSL_free(s);
    SSL_free(c);
    return result;
  }

  static std::string* dir_;
  static std::string* other_;
};

std::string* TlsContextTest::dir_ = nullptr;
std::string* TlsContextTest::other_ = nullptr;

TEST_F(TlsContextTest, LoadsTheDevCertificate) {
  auto context = TlsContext::Load(Files(*dir_));
  ASSERT_TRUE(context.ok()) << context.status();
  EXPECT_NE((*context)->ctx(), nullptr);
}

TEST_F(TlsContextTest, MissingFileIsAClearError) {
  TlsContext::Options options = Files(*dir_);
  options.cert_file = *dir_ + "/nope.pem";
  auto context = TlsContext::Load(options);
  ASSERT_FALSE(context.ok());
  EXPECT_TRUE(absl::StrContains(context.status().message(), "nope.pem"))
      << context.status();
}

TEST_F(TlsContextTest, KeyOfAnotherCertificateIsRefused) {
  TlsContext::Options options = Files(*dir_);
  options.key_file = *other_ + "/server.key";
  auto context = TlsContext::Load(options);
  ASSERT_FALSE(context.ok());
  // OpenSSL notices when the key is loaded ("key values mismatch").
  EXPECT_TRUE(absl::StrContains(context.status().message(), "mismatch") ||
              absl::StrContains(context.status().message(), "does not match"))
      << context.status();
}

TEST_F(TlsContextTest, SpeaksTls13AndTls12WithForwardSecrecy) {
  auto server = TlsContext::Load(Files(*dir_));
  ASSERT_TRUE(server.ok()) << server.status();
  SSL_CTX* client13 = Client(TLS1_3_VERSION);
  const Result r13 = Handshake(**server, client13);
  EXPECT_TRUE(r13.ok);
  EXPECT_EQ(r13.version, "TLSv1.3");
  SSL_CTX_free(client13);

  SSL_CTX* client12 = Client(TLS1_2_VERSION);
  const Result r12 = Handshake(**server, client12);
  EXPECT_TRUE(r12.ok);
  EXPECT_EQ(r12.version, "TLSv1.2");
  EXPECT_TRUE(absl::StartsWith(r12.cipher, "ECDHE-")) << r12.cipher;
  EXPECT_TRUE(absl::StrContains(r12.cipher, "GCM") ||
              absl::StrContains(r12.cipher, "CHACHA20"))
      << r12.cipher;
  SSL_CTX_free(client12);
}

TEST_F(TlsContextTest, RefusesTls11AndOlder) {
  auto server = TlsContext::Load(Files(*dir_));
  ASSERT_TRUE(server.ok()) << server.status();
  for (int version : {TLS1_1_VERSION, TLS1_VERSION}) {
    SSL_CTX* client = Client(version);
    EXPECT_FALSE(Handshake(**server, client).ok) << std::hex << version;
    SSL_CTX_free(client);
  }
}

TEST_F(TlsContextTest, SelectsHttp11ByAlpnWhenOffered) {
  TlsContext::Options options = Files(*dir_);
  options.alpn = "http/1.1";
  auto web = TlsContext::Load(options);
  ASSERT_TRUE(web.ok()) << web.status();
  SSL_CTX* client = Client(TLS1_3_VERSION);
  // "h2" then "http/1.1", length-prefixed.
  const std::string offer = std::string("\x02h2\x08http/1.1", 12);
  EXPECT_EQ(Handshake(**web, client, offer).alpn, "http/1.1");
  // Offering only h2 still connects, without ALPN.
  const Result h2 = Handshake(**web, client, std::string("\x02h2", 3));
  EXPECT_TRUE(h2.ok);
  EXPECT_EQ(h2.alpn, "");
  // The line port's context selects nothing.
  auto line = TlsContext::Load(Files(*dir_));
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(Handshake(**line, client, offer).alpn, "");
  SSL_CTX_free(client);
}

TEST_F(TlsContextTest, SlotSwapsWhileOldHoldersKeepTheirs) {
  TlsContextSlot slot;
  EXPECT_EQ(slot.Get(), nullptr);
  auto first = TlsContext::Load(Files(*dir_));
  ASSERT_TRUE(first.ok());
  slot.Set(*first);
  std::shared_ptr<const TlsContext> held = slot.Get();
  auto second = TlsContext::Load(Files(*other_));
  ASSERT_TRUE(second.ok());
  slot.Set(*second);
  EXPECT_EQ(slot.Get(), *second);
  EXPECT_EQ(held, *first);  // A connection made before still has it.
  SSL_CTX* client = Client(TLS1_3_VERSION);
  EXPECT_TRUE(Handshake(*held, client).ok);
  SSL_CTX_free(client);
}

TEST(KernelTlsTest, AnswersWithoutCrashing) {
  // This machine's kernel has no TLS; either answer is fine elsewhere.
  (void)KernelTlsAvailable();
}

}  // namespace
}  // namespace chatd
