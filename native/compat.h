// Differences between the libtorch versions we build against (Debian 1.13, 2.x wheels/zips).
#pragma once
#include <torch/version.h>

#define TORCH_AT_LEAST(maj, min) \
  (TORCH_VERSION_MAJOR > (maj) || (TORCH_VERSION_MAJOR == (maj) && TORCH_VERSION_MINOR >= (min)))

// at::Allocator::allocate lost its const in 2.3 and gained a pure virtual copy_data.
#if TORCH_AT_LEAST(2, 3)
#define TN_ALLOCATE_CONST
#define TN_ALLOCATOR_HAS_COPY_DATA 1
#else
#define TN_ALLOCATE_CONST const
#define TN_ALLOCATOR_HAS_COPY_DATA 0
#endif
