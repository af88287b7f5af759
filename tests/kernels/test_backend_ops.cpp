// Every backend available on this machine against the scalar reference, op by op (the idea of
// ggml's test-backend-ops): same inputs, outputs within a per-op tolerance. Matrix products are in
// test_backend_matmul.cpp.
#include "backend_test_util.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using namespace rwkv::kernels;
using namespace rwkv::test;

TEST_CASE("element-wise and normalisation ops match the reference", "[kernels][backend]") {
  auto ref = create_reference_backend();
  for (const auto& opts : candidates(false))
  for (auto [T, H, N] : {std::tuple<std::int64_t, std::int64_t, std::int64_t>{5, 3, 64}, {1, 2, 20}, {2, 5, 13},
                         {16, 1, 100}, {100, 4, 48}}) {
    const std::int64_t C = H * N;
    auto be = create_backend(opts);
    INFO("backend " << describe(*be) << " T=" << T << " H=" << H << " N=" << N);
    auto x = random_vec(T * C, 10), w = random_vec(C, 11), b = random_vec(C, 12), prev = random_vec(C, 13);

    std::vector<float> want(T * C);
    ref->layer_norm(x.data(), w.data(), b.data(), want.data(), T, C, 1e-5f);
    {
      dev dx(*be, x), dw(*be, w), db(*be, b), dy(*be, std::vector<float>(T * C));
      be->layer_norm(dx.p, dw.p, db.p, dy.p, T, C, 1e-5f);
      CHECK(max_rel_diff(dy.host(), want) < 1e-5f);
    }
    ref->group_norm(x.data(), w.data(), b.data(), want.data(), T, C, H, 64e-5f);
    {
      dev dx(*be, x), dw(*be, w), db(*be, b), dy(*be, std::vector<float>(T * C));
      be->group_norm(dx.p, dw.p, db.p, dy.p, T, C, H, 64e-5f);
      CHECK(max_rel_diff(dy.host(), want) < 1e-5f);
    }
    {
      std::vector<float> rprev = prev, rdx(T * C);
      ref->token_shift(x.data(), rprev.data(), rdx.data(), T, C);
      dev dx(*be, x), dp(*be, prev), dd(*be, std::vector<float>(T * C));
      be->token_shift(dx.p, dp.p, dd.p, T, C);
      CHECK(dd.host() == rdx);
      CHECK(dp.host() == rprev);
    }
    {
      auto d = random_vec(T * C, 14), m0 = random_vec(C, 15), m1 = random_vec(C, 16), dyn = random_vec(T * C, 17);
      std::vector<float> r0(T * C), r1(T * C);
      const float* ms[] = {m0.data(), m1.data()};
      float* ro[] = {r0.data(), r1.data()};
      ref->mix(x.data(), d.data(), ms, ro, 2, T, C);
      dev dx(*be, x), dd(*be, d), dm0(*be, m0), dm1(*be, m1), o0(*be, r0), o1(*be, r1);
      const float* bms[] = {dm0.p, dm1.p};
      float* bo[] = {o0.p, o1.p};
      be->mix(dx.p, dd.p, bms, bo, 2, T, C);
      CHECK(max_rel_diff(o0.host(), r0) < 1e-6f);
      CHECK(max_rel_diff(o1.host(), r1) < 1e-6f);
      ref->mix_dynamic(x.data(), d.data(), m0.data(), dyn.data(), C, r0.data(), T, C);
      dev ddyn(*be, dyn);
      be->mix_dynamic(dx.p, dd.p, dm0.p, ddyn.p, C, o0.p, T, C);
      CHECK(max_rel_diff(o0.host(), r0) < 1e-6f);
    }
    {
      auto a = random_vec(T * C, 18), c = random_vec(T * C, 19);
      std::vector<float> r = c;
      ref->mul(a.data(), x.data(), r.data(), T * C);
      dev da(*be, a), dx(*be, x), dc(*be, c);
      be->mul(da.p, dx.p, dc.p, T * C);
      CHECK(max_rel_diff(dc.host(), r) < 1e-6f);
      r = c;
      ref->add_mul(a.data(), x.data(), r.data(), T * C);
      dev dc2(*be, c);
      be->add_mul(da.p, dx.p, dc2.p, T * C);
      CHECK(max_rel_diff(dc2.host(), r) < 1e-6f);
    }
  }
}

TEST_CASE("WKV recurrences of every version match the reference", "[kernels][backend][wkv]") {
  auto ref = create_reference_backend();
  for (const auto& opts : candidates(false))
  for (auto [H, N] : {std::pair<std::int64_t, std::int64_t>{3, 64}, {2, 32}, {1, 128}, {2, 24}}) {
    const std::int64_t C = H * N;
    auto be = create_backend(opts);
    INFO("backend " << describe(*be) << " H=" << H << " N=" << N);
    for (std::int64_t T : {1, 2, 3, 16, 100}) {
      INFO("T=" << T);
      auto r = random_vec(T * C, 20, 0.5f), k = random_vec(T * C, 21, 0.5f), v = random_vec(T * C, 22);
      auto state0 = random_vec(H * N * N, 23, 0.1f);
      {  // v4
        auto decay = random_vec(C, 24), first = random_vec(C, 25);
        for (auto& d : decay) d = -std::exp(d);
        auto aa = random_vec(C, 26), bb = random_vec(C, 27);
        for (auto& x : bb) x = std::fabs(x) + 0.1f;
        std::vector<float> pp(C, -1e30f), y(T * C);
        auto raa = aa, rbb = bb, rpp = pp;
        ref->wkv4(T, C, decay.data(), first.data(), k.data(), v.data(), raa.data(), rbb.data(), rpp.data(), y.data());
        dev dd(*be, decay), df(*be, first), dk(*be, k), dv(*be, v), da(*be, aa), db(*be, bb), dp(*be, pp),
            dy(*be, std::vector<float>(T * C));
        be->wkv4(T, C, dd.p, df.p, dk.p, dv.p, da.p, db.p, dp.p, dy.p);
        CHECK(max_rel_diff(dy.host(), y) < 1e-5f);
        CHECK(max_rel_diff(da.host(), raa) < 1e-5f);
        CHECK(max_rel_diff(dp.host(), rpp) < 1e-6f);
      }
      for (bool per_token : {false, true}) {  // v5.2 / v6
        auto w = random_vec(per_token ? T * C : C, 28);
        for (auto& x : w) x = std::exp(-std::exp(x));
        auto u = random_vec(C, 29);
        auto rs = state0;
        std::vector<float> y(T * C);
        ref->wkv5(T, H, N, r.data(), k.data(), v.data(), w.data(), per_token, u.data(), rs.data(), y.data());
        dev dr(*be, r), dk(*be, k), dv(*be, v), dw(*be, w), du(*be, u), ds(*be, state0),
            dy(*be, std::vector<float>(T * C));
        be->wkv5(T, H, N, dr.p, dk.p, dv.p, dw.p, per_token, du.p, ds.p, dy.p);
        CHECK(max_rel_diff(dy.host(), y) < 1e-4f);
        CHECK(max_rel_diff(ds.host(), rs) < 1e-4f);
      }
      {  // v7: prepare + wkv + finish

        auto w = random_vec(T * C, 30), a = random_vec(T * C, 31), vg = random_vec(T * C, 32);
        auto w0 = random_vec(C, 33), a0 = random_vec(C, 34), kk = random_vec(C, 35), ka = random_vec(C, 36),
             v0 = random_vec(C, 37), vfirst = random_vec(T * C, 38), rk = random_vec(C, 39), g = random_vec(T * C, 40);
        for (bool layer0 : {true, false}) {
          INFO("layer0=" << layer0);
          auto rw = w, ra = a, rk2 = k, rv = v, rvf = vfirst;
          std::vector<float> rb(T * C);
          backend::rwkv7_prepare_args p;
          p.T = T, p.H = H, p.N = N, p.w = rw.data(), p.w0 = w0.data(), p.a = ra.data(), p.a0 = a0.data();
          p.b = rb.data(), p.k = rk2.data(), p.k_k = kk.data(), p.k_a = ka.data(), p.v = rv.data();
          p.v_first = rvf.data(), p.v_gate = layer0 ? nullptr : vg.data(), p.v0 = layer0 ? nullptr : v0.data();
          ref->rwkv7_prepare(p);
          auto rs = state0;
          std::vector<float> y(T * C);
          ref->wkv7(T, H, N, r.data(), rw.data(), rk2.data(), rv.data(), ra.data(), rb.data(), rs.data(), y.data());
          ref->rwkv7_finish(y.data(), r.data(), rk2.data(), rv.data(), rk.data(), g.data(), T, H, N);

          dev dw(*be, w), dw0(*be, w0), da(*be, a), da0(*be, a0), db(*be, std::vector<float>(T * C)), dk(*be, k),
              dkk(*be, kk), dka(*be, ka), dv(*be, v), dvf(*be, vfirst), dvg(*be, vg), dv0(*be, v0), dr(*be, r),
              ds(*be, state0), dy(*be, std::vector<float>(T * C)), drk(*be, rk), dg(*be, g);
          backend::rwkv7_prepare_args q = p;
          q.w = dw.p, q.w0 = dw0.p, q.a = da.p, q.a0 = da0.p, q.b = db.p, q.k = dk.p, q.k_k = dkk.p, q.k_a = dka.p;
          q.v = dv.p, q.v_first = dvf.p, q.v_gate = layer0 ? nullptr : dvg.p, q.v0 = layer0 ? nullptr : dv0.p;
          be->rwkv7_prepare(q);
          CHECK(max_rel_diff(dw.host(), rw) < 1e-5f);
          CHECK(max_rel_diff(da.host(), ra) < 1e-5f);
          CHECK(max_rel_diff(db.host(), rb) < 1e-5f);
          CHECK(max_rel_diff(dk.host(), rk2) < 1e-5f);
          CHECK(max_rel_diff(dv.host(), rv) < 1e-5f);
          CHECK(max_rel_diff(dvf.host(), rvf) < 1e-6f);
          be->wkv7(T, H, N, dr.p, dw.p, dk.p, dv.p, da.p, db.p, ds.p, dy.p);
          CHECK(max_rel_diff(ds.host(), rs) < 1e-4f);
          be->rwkv7_finish(dy.p, dr.p, dk.p, dv.p, drk.p, dg.p, T, H, N);
          CHECK(max_rel_diff(dy.host(), y) < 1e-4f);
        }
      }
    }
  }
}

TEST_CASE("the registry reports what it built and refuses unknown backends", "[kernels][backend]") {
  std::string err;
  backend_options o;
  o.name = "no-such-backend";
  CHECK(create_backend(o, &err) == nullptr);
  CHECK(err.find("unknown backend") != std::string::npos);
  o.name = "cpu";
  o.threads = 2;
  auto b = create_backend(o, &err);
  REQUIRE(b);
  CHECK(b->info().threads == 2);
  CHECK_FALSE(b->info().isa.empty());
}
