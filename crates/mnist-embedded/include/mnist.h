/* libmnist: the book's 784-50-100-10 MNIST network ("Deep Learning from
   Scratch", chapter 3) baked into a static library, in f32 and as an
   integer-only int8 model. Made by `make embedded` (target/embedded/libmnist.a). */
#ifndef MNIST_H
#define MNIST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Classifies `count` 28×28 u8 images (784 bytes each, row-major) into `digits`.
   Returns 0, or non-zero if a pointer is null. No heap, no globals written: thread-safe. */
int mnist_predict_f32(const uint8_t *images, size_t count, uint8_t *digits);
int mnist_predict_int8(const uint8_t *images, size_t count, uint8_t *digits);

#ifdef __cplusplus
}
#endif

#endif
