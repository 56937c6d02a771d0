// Every control message: round-trips through Boost.Serialization, and each type travels on its
// own tag (Channel<M>), so a message can only be received as the type it was sent as.
#include <catch2/catch.hpp>

#include <set>

#include "pbtnas/core/messages.hpp"
#include "support/local_transport.hpp"

using namespace pbtnas;

TEST_CASE("start and ready messages round-trip and named constructors say what they mean") {
  const auto fresh = decode<StartOrder>(encode(StartOrder::fresh("out/x", {{1, 2}, {0, 3}})));
  CHECK(fresh.resume_generation == -1);
  CHECK(fresh.out_dir == "out/x");
  CHECK_FALSE(fresh.stop);
  CHECK(fresh.genomes == std::vector<Genome>{{1, 2}, {0, 3}});
  const auto resumed = decode<StartOrder>(encode(StartOrder::resume("o", 4)));
  CHECK(resumed.resume_generation == 4);
  CHECK(resumed.genomes.empty());
  CHECK(decode<StartOrder>(encode(StartOrder::abort())).stop);
  const auto r = decode<WorkerReady>(encode(WorkerReady{"cuda:1", 8, "no data"}));
  CHECK(r.device == "cuda:1");
  CHECK(r.threads == 8);
  CHECK(r.error == "no data");
}

TEST_CASE("orders round-trip: train, finish and stop are distinct kinds") {
  const auto t = decode<Order>(encode(Order::train(3, 6, 2)));
  CHECK(t.kind == Order::Kind::Train);
  CHECK(t.generation == 3);
  CHECK(t.epoch_begin == 6);
  CHECK(t.epochs == 2);
  CHECK(decode<Order>(encode(Order::finish())).kind == Order::Kind::Finish);
  const auto s = decode<Order>(encode(Order::stop(3)));
  CHECK(s.kind == Order::Kind::Stop);
  CHECK(s.exit_code == 3);
  const auto f = decode<FinalOrder>(encode(FinalOrder{5, "out/best_ever.h5"}));
  CHECK(f.final_member == 5);
  CHECK(f.best_ever_file == "out/best_ever.h5");
}

TEST_CASE("reports and plans round-trip") {
  ExploitPlan p;
  p.generation = 7;
  ChildPlan c;
  c.slot = 3;
  c.parent1 = 1;
  c.parent2 = 5;
  c.kind = ChildKind::ArchMutation;
  c.genome = {1, 2, 3};
  c.swapped_genes = {2};
  c.fresh_seed = 0xDEADBEEFCAFEULL;
  p.children = {c, c};
  const auto q = decode<ExploitPlan>(encode(p));
  REQUIRE(q.children.size() == 2);
  CHECK(q.generation == 7);
  CHECK(q.children[1].slot == 3);
  CHECK(q.children[1].kind == ChildKind::ArchMutation);
  CHECK(q.children[1].genome == c.genome);
  CHECK(q.children[1].swapped_genes == c.swapped_genes);
  CHECK(q.children[1].fresh_seed == c.fresh_seed);

  const auto r = decode<FitnessReport>(encode(FitnessReport{4, 2, -1.5, 0.25, 1000, 3.5, true, "boom"}));
  CHECK(r.member == 4);
  CHECK(r.fitness == -1.5);
  CHECK(r.diverged);
  CHECK(r.error == "boom");
  const auto e = decode<ExploitDone>(encode(ExploitDone{1.5, 1234, ""}));
  CHECK(e.seconds == 1.5);
  CHECK(e.bytes_sent == 1234);

  CheckpointOrder o;
  o.generation = 9;
  o.fitness = {{0.1, 0.2}, {}};
  CHECK(decode<CheckpointOrder>(encode(o)).fitness == o.fitness);
  CheckpointDone d;
  d.files = {{2, "member_002.h5", 1234, 0xABCDu}};
  const auto d2 = decode<CheckpointDone>(encode(d));
  CHECK(d2.files.at(0).file == "member_002.h5");
  CHECK(d2.files.at(0).crc32 == 0xABCDu);

  const auto fr = decode<FinalReport>(encode(FinalReport{3, 0.91, 0.9, 12345, "", {"FID"}, {26.5}}));
  CHECK(fr.member == 3);
  CHECK(fr.test_score == 0.9);
  CHECK(fr.parameters == 12345);
  CHECK(fr.score_names == std::vector<std::string>{"FID"});
  CHECK(fr.score_values == std::vector<double>{26.5});
  FitnessReport note;
  note.member = 2;
  note.partial = true;
  note.samples = 640;
  note.total_samples = 3000;
  const auto n2 = decode<FitnessReport>(encode(note));
  CHECK(n2.partial);
  CHECK(n2.samples == 640);
  CHECK(n2.total_samples == 3000);
  BestEverReport b;
  b.generation = 4;
  b.metric_names = {"fid", "inception_score"};
  b.metric_values = {12.5, 3.25};
  b.preview = "out/samples/final_best.png";
  const auto b2 = decode<BestEverReport>(encode(b));
  CHECK(b2.generation == 4);
  CHECK(b2.metric_names == b.metric_names);
  CHECK(b2.metric_values == b.metric_values);
  CHECK(b2.preview == b.preview);
  SoupReport so;
  so.generation = 5;
  so.candidates = {3, 1, 6};
  so.members = {3, 6};
  so.fitness = 0.75;
  so.metric_names = {"test accuracy"};
  so.best_values = {0.7};
  so.soup_values = {0.72};
  so.file = "out/soup.h5";
  const auto so2 = decode<SoupReport>(encode(so));
  CHECK(so2.generation == 5);
  CHECK(so2.candidates == so.candidates);
  CHECK(so2.members == so.members);
  CHECK(so2.fitness == 0.75);
  CHECK(so2.best_values == so.best_values);
  CHECK(so2.soup_values == so.soup_values);
  CHECK(so2.file == so.file);
  CheckpointDone cd;
  cd.peak_rss_bytes = std::int64_t{3} << 32;
  CHECK(decode<CheckpointDone>(encode(cd)).peak_rss_bytes == cd.peak_rss_bytes);

}

TEST_CASE("each message type has its own tag, clear of the payload tags") {
  const std::set<int> tags{Channel<StartOrder>::tag, Channel<WorkerReady>::tag, Channel<Order>::tag,
                           Channel<FitnessReport>::tag, Channel<ExploitPlan>::tag, Channel<ExploitDone>::tag,
                           Channel<CheckpointOrder>::tag, Channel<CheckpointDone>::tag, Channel<FinalOrder>::tag,
                           Channel<FinalReport>::tag, Channel<BestEverReport>::tag,
                           Channel<SoupReport>::tag};
  CHECK(tags.size() == 12);
  CHECK(*tags.rbegin() < kTagManifestBase);
  CHECK(kTagManifestBase + kMaxTransfers <= kTagPayloadBase);

  // A FinalReport and a BestEverReport from the same rank are told apart by type, not by order.
  test::LocalHub hub(2);
  test::LocalTransport zero(hub, 0), one(hub, 1);
  BestEverReport b;
  b.generation = 2;
  send_message(one, 0, b);
  send_message(one, 0, FinalReport{1, 0.5, 0.4, 10, ""});
  CHECK(receive_message<FinalReport>(zero, 1).member == 1);
  CHECK(receive_message<BestEverReport>(zero, 1).generation == 2);
}
