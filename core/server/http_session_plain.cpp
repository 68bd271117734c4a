// Plain-HTTP connections (HttpServerOptions::plain_http; loopback tests).
#include "server/http_session.h"

namespace signet::server::internal {

void StartPlainSession(ServerState& state, net::ip::tcp::socket socket, bool reject) {
  std::make_shared<Session<beast::tcp_stream>>(state, std::move(socket), reject)->Start();
}

}  // namespace signet::server::internal
