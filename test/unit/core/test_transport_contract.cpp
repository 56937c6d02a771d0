// The Transport contract (test/support/transport_contract.hpp) on LocalTransport; the same
// function runs on MpiTransport under mpirun (test/mpi/test_transport.cpp).
#include <catch2/catch.hpp>

#include <thread>

#include "support/local_transport.hpp"
#include "support/transport_contract.hpp"

using namespace pbtnas;

TEST_CASE("transport contract: LocalTransport with 3 and 5 ranks") {
  for (int ranks : {3, 5}) {
    test::LocalHub hub(ranks);
    std::vector<std::string> errors(static_cast<std::size_t>(ranks));
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks; ++r)
      threads.emplace_back([&, r] {
        test::LocalTransport t(hub, r);
        errors[static_cast<std::size_t>(r)] = test::check_transport_contract(t, 100000);
      });
    for (auto& th : threads) th.join();
    for (int r = 0; r < ranks; ++r) {
      INFO("rank " << r << " of " << ranks);
      CHECK(errors[static_cast<std::size_t>(r)].empty());
    }
  }
}
