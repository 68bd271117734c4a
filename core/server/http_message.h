// Internal to the HTTP server: conversions between Beast messages and the
// server's ServerRequest/ServerResponse, the canned error responses, and
// the guarded handler call. Included only by the http_*.cpp files.
#pragma once

#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/http_internal.h"

namespace signet::server::internal {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using BeastResponse = boost::beast::http::response<boost::beast::http::string_body>;

// Moves the request's target, headers (names lower-cased) and body out of `req`.
ServerRequest ToServerRequest(BeastRequest&& req, const std::string& client_address);

// Replaces `out` with `in`: status, Content-Type, the handler's headers
// (except Content-Length, Transfer-Encoding, Connection, and any name or
// value that would break the header block), the body and Content-Length.
// `head`: a HEAD request (Content-Length of the body, no body sent).
void FillResponse(ServerResponse&& in, BeastResponse& out, unsigned version, bool head);

// `{"error":{"code":CODE,"message":MESSAGE}}` with `status`.
void FillErrorResponse(BeastResponse& out, unsigned status, std::string_view code,
                       std::string_view message);

// Calls the handler; an exception becomes a 500 with
// {"error":{"code":"internal","message":"internal error"}} (logged, counted).
ServerResponse CallHandler(ServerState& state, const ServerRequest& request);

}  // namespace signet::server::internal
