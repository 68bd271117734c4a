#include "server/http_message.h"

#include <algorithm>
#include <cctype>
#include <exception>

#include "server/log.h"

namespace signet::server {

std::string ServerRequest::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return "";
}

namespace internal {
namespace {

namespace http = boost::beast::http;

std::string_view ToStd(boost::beast::string_view s) { return {s.data(), s.size()}; }

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// RFC 9110 token characters.
bool ValidHeaderName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool ValidHeaderValue(std::string_view value) {
  return std::none_of(value.begin(), value.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

ServerResponse InternalErrorResponse() {
  ServerResponse r;
  r.status = 500;
  r.body = R"({"error":{"code":"internal","message":"internal error"}})";
  return r;
}

}  // namespace

ServerRequest ToServerRequest(BeastRequest&& req, const std::string& client_address) {
  ServerRequest r;
  r.method = std::string(ToStd(req.method_string()));
  r.target = std::string(ToStd(req.target()));
  r.path = r.target.substr(0, r.target.find('?'));
  std::size_t n = 0;
  for (auto it = req.begin(); it != req.end(); ++it) ++n;
  r.headers.reserve(n);
  for (const auto& field : req) {
    std::string name(ToStd(field.name_string()));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace_back(std::move(name), std::string(ToStd(field.value())));
  }
  r.body = std::move(req.body());
  r.client_address = client_address;
  return r;
}

void FillResponse(ServerResponse&& in, BeastResponse& out, unsigned version, bool head) {
  if (in.status < 100 || in.status > 599) in = InternalErrorResponse();
  out = BeastResponse{};
  out.version(version);
  out.result(static_cast<unsigned>(in.status));
  if (!in.content_type.empty() && ValidHeaderValue(in.content_type)) {
    out.set(http::field::content_type, in.content_type);
  }
  for (const auto& [name, value] : in.headers) {
    if (!ValidHeaderName(name) || !ValidHeaderValue(value) || IEquals(name, "content-length") ||
        IEquals(name, "transfer-encoding") || IEquals(name, "connection")) {
      continue;
    }
    out.insert(boost::beast::string_view(name.data(), name.size()), value);
  }
  const bool no_body = in.status < 200 || in.status == 204 || in.status == 304;
  if (!no_body) {
    out.content_length(in.body.size());
    if (!head) out.body() = std::move(in.body);
  }
}

void FillErrorResponse(BeastResponse& out, unsigned status, std::string_view code,
                       std::string_view message) {
  out = BeastResponse{};
  out.version(11);
  out.result(status);
  out.set(http::field::content_type, "application/json");
  std::string body = "{\"error\":{\"code\":";
  AppendJsonString(body, code);
  body += ",\"message\":";
  AppendJsonString(body, message);
  body += "}}";
  out.content_length(body.size());
  out.body() = std::move(body);
}

ServerResponse CallHandler(ServerState& state, const ServerRequest& request) {
  // The exception's text is not logged: it may quote request data.
  try {
    return state.handler(request);
  } catch (const std::exception&) {
    state.logger->Error("request handler threw an exception",
                        {{"path", request.path}, {"client", request.client_address}});
  } catch (...) {
    state.logger->Error("request handler threw a non-standard exception",
                        {{"path", request.path}, {"client", request.client_address}});
  }
  state.CountError(RequestError::kHandlerException);
  return InternalErrorResponse();
}

}  // namespace internal
}  // namespace signet::server
