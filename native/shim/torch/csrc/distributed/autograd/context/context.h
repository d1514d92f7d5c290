// Stand-in for a header Debian's libtorch-dev 1.13 omits (c10d/reducer.hpp includes it). The
// reducer only names two types from it: the gradient callback (same std::function as upstream's)
// and ContextPtr, a shared_ptr, so the Reducer's layout is the same as libtorch's own build.
// Reached through -idirafter, so a libtorch that ships the real header uses that one.
#pragma once
#include <ATen/ATen.h>

#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};
using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
