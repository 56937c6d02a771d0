// Under `mpirun -n 3`: the Transport contract (test/support/transport_contract.hpp) on
// MpiTransport, with a 4 KiB chunk size so that the 100 kB bulk payload is split into 25 chunks.
#include <iostream>

#include "pbtnas/mpi/mpi_transport.hpp"
#include "support/transport_contract.hpp"

int main(int argc, char** argv) {
  pbtnas::MpiSession mpi(&argc, &argv);
  pbtnas::MpiTransport t(/*max_chunk=*/4096);
  const std::string error = pbtnas::test::check_transport_contract(t, 100000);
  if (!error.empty()) std::cerr << "rank " << t.rank() << ": transport contract violated: " << error << std::endl;
  else if (t.rank() == 0) std::cout << "transport contract holds on MpiTransport (" << t.size() << " ranks)" << std::endl;
  return error.empty() ? 0 : 1;
}
