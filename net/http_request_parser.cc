#include "net/http_request_parser.h"

#include <llhttp.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace chatd {

absl::string_view HttpRequest::path() const {
  absl::string_view target_view = target;
  return target_view.substr(0, target_view.find('?'));
}

absl::string_view HttpRequest::Header(absl::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return absl::StripAsciiWhitespace(value);
  }
  return {};
}

bool HttpRequest::HasHeader(absl::string_view lower_name) const {
  for (const auto& header : headers) {
    if (header.first == lower_name) return true;
  }
  return false;
}

bool HttpRequest::HeaderHasToken(absl::string_view lower_name,
                                 absl::string_view token) const {
  for (const auto& [name, value] : headers) {
    if (name != lower_name) continue;
    for (absl::string_view item : absl::StrSplit(value, ',')) {
      if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(item), token)) {
        return true;
      }
    }
  }
  return false;
}

// llhttp calls back with the parser; its `data` points at the
// HttpRequestParser. A callback returns HPE_USER to refuse (error_status_ says
// why) and HPE_PAUSED to stop after a complete request.
struct HttpRequestParser::Llhttp {
  llhttp_t parser;
  llhttp_settings_t settings;
  // From the end of a message (or the start) to the end of the next one's
  // header: header bytes count against the limit.
  bool in_head = true;

  static HttpRequestParser* Self(llhttp_t* p) {
    return static_cast<HttpRequestParser*>(p->data);
  }

  static int Refuse(HttpRequestParser* self, int status,
                    absl::string_view reason) {
    self->error_status_ = status;
    self->error_reason_ = reason;
    return HPE_USER;
  }

  // Counts header bytes against the limit.
  static int CountHeader(HttpRequestParser* self, size_t length) {
    self->header_bytes_ += length;
    if (self->header_bytes_ > kMaxHeaderBytes) {
      return Refuse(self, 431, "request header fields too large");
    }
    return 0;
  }

  static int OnMessageBegin(llhttp_t* p) {
    HttpRequestParser* self = Self(p);
    self->request_ = HttpRequest();
    self->field_ = nullptr;
    self->in_value_ = false;
    self->header_bytes_ = 0;
    self->body_bytes_ = 0;
    return 0;
  }

  static int OnUrl(llhttp_t* p, const char* at, size_t length) {
    HttpRequestParser* self = Self(p);
    if (int refused = CountHeader(self, length)) return refused;
    self->request_.target.append(at, length);
    return 0;
  }

  static int OnHeaderField(llhttp_t* p, const char* at, size_t length) {
    HttpRequestParser* self = Self(p);
    if (int refused = CountHeader(self, length)) return refused;
    if (self->field_ == nullptr || self->in_value_) {
      self->request_.headers.emplace_back();
      self->field_ = &self->request_.headers.back().first;
      self->in_value_ = false;
    }
    const size_t start = self->field_->size();
    self->field_->append(at, length);
    for (size_t i = start; i < self->field_->size(); ++i) {
      (*self->field_)[i] = absl::ascii_tolower((*self->field_)[i]);
    }
    return 0;
  }

  static int OnHeaderValue(llhttp_t* p, const char* at, size_t length) {
    HttpRequestParser* self = Self(p);
    if (int refused = CountHeader(self, length)) return refused;
    if (self->field_ == nullptr) return 0;  // llhttp does not let this happen.
    self->in_value_ = true;
    self->request_.headers.back().second.append(at, length);
    return 0;
  }

  static int OnHeadersComplete(llhttp_t* p) {
    HttpRequestParser* self = Self(p);
    self->llhttp_->in_head = false;
    self->request_.method =
        llhttp_method_name(static_cast<llhttp_method_t>(llhttp_get_method(p)));
    self->request_.keep_alive = llhttp_should_keep_alive(p) != 0;
    self->request_.upgrade = llhttp_get_upgrade(p) != 0;
    return 0;
  }

  static int OnBody(llhttp_t* p, const char* at, size_t length) {
    HttpRequestParser* self = Self(p);
    self->body_bytes_ += length;
    if (self->body_bytes_ > kMaxBodyBytes) {
      return Refuse(self, 413, "request body too large");
    }
    return 0;
  }

  static int OnMessageComplete(llhttp_t* p) {
    HttpRequestParser* self = Self(p);
    self->complete_ = true;
    // What follows is the next message's head.
    self->llhttp_->in_head = true;
    self->header_bytes_ = 0;
    return HPE_PAUSED;
  }
};

HttpRequestParser::HttpRequestParser() : llhttp_(new Llhttp) {
  llhttp_settings_init(&llhttp_->settings);
  llhttp_->settings.on_message_begin = &Llhttp::OnMessageBegin;
  llhttp_->settings.on_url = &Llhttp::OnUrl;
  llhttp_->settings.on_header_field = &Llhttp::OnHeaderField;
  llhttp_->settings.on_header_value = &Llhttp::OnHeaderValue;
  llhttp_->settings.on_headers_complete = &Llhttp::OnHeadersComplete;
  llhttp_->settings.on_body = &Llhttp::OnBody;
  llhttp_->settings.on_message_complete = &Llhttp::OnMessageComplete;
  llhttp_init(&llhttp_->parser, HTTP_REQUEST, &llhttp_->settings);
  llhttp_->parser.data = this;
}

HttpRequestParser::~HttpRequestParser() = default;

HttpRequestParser::Status HttpRequestParser::Parse(absl::string_view input,
                                                   size_t* consumed) {
  *consumed = 0;
  if (error_status_ != 0) return Status::kError;
  llhttp_t* parser = &llhttp_->parser;
  if (complete_) {
    complete_ = false;
    if (llhttp_get_errno(parser) == HPE_PAUSED) llhttp_resume(parser);
  }
  // llhttp reports a span of the head (target, header name or value) when
  // it ends or when the input does, so how the stream is cut decides where
  // the header limit is checked: a head past the limit with a bad byte later
  // would be 400 whole but 431 in small pieces. While a head is read, llhttp
  // gets at most one byte more than the limit allows; the count is exact at
  // the end of each piece, so it can only pass the limit at a piece's last
  // byte, where llhttp reports it. 431 then comes at the same byte however
  // the bytes arrive.
  size_t pos = 0;
  llhttp_errno_t error = HPE_OK;
  while (pos < input.size()) {
    size_t length = input.size() - pos;
    if (llhttp_->in_head) {
      length = std::min(length, kMaxHeaderBytes - header_bytes_ + 1);
    }
    error = llhttp_execute(parser, input.data() + pos, length);
    if (error != HPE_OK) break;
    pos += length;
  }
  switch (error) {
    case HPE_OK:
      *consumed = input.size();
      return Status::kNeedMore;
    case HPE_PAUSED:
    case HPE_PAUSED_UPGRADE:
      *consumed =
          static_cast<size_t>(llhttp_get_error_pos(parser) - input.data());
      if (!complete_) {  // An upgrade paused before the request completed.
        complete_ = true;
      }
      return Status::kRequest;
    case HPE_USER:
      return Status::kError;
    default:
      error_status_ = 400;
      error_reason_ = "malformed request";
      return Status::kError;
  }
}

}  // namespace chatd
