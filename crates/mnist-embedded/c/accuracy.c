/* Links libmnist.a, classifies the raw IDX test images with both models and
   prints each accuracy against the raw IDX labels:

     cc -O2 -I crates/mnist-embedded/include crates/mnist-embedded/c/accuracy.c \
        target/embedded/libmnist.a -o accuracy
     ./accuracy t10k-images.idx t10k-labels.idx                                  */
#include <stdio.h>
#include <stdlib.h>

#include "mnist.h"

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) { fprintf(stderr, "%s: cannot read\n", path); exit(2); }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static unsigned be32(const unsigned char *p) { return (unsigned)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s IMAGES.idx LABELS.idx\n", argv[0]); return 2; }
    size_t ilen, llen;
    unsigned char *images = read_file(argv[1], &ilen), *labels = read_file(argv[2], &llen);
    if (ilen < 16 || be32(images) != 0x803 || llen < 8 || be32(labels) != 0x801) {
        fprintf(stderr, "expected raw IDX image and label files\n"); return 2;
    }
    size_t count = be32(images + 4);
    if (ilen != 16 + count * 784 || llen != 8 + count) { fprintf(stderr, "sizes do not match the headers\n"); return 2; }
    unsigned char *digits = malloc(count);
    if (mnist_predict_f32(NULL, 1, digits) == 0) { fprintf(stderr, "a null pointer was accepted\n"); return 1; }
    const char *names[2] = {"f32", "int8"};
    for (int m = 0; m < 2; m++) {
        int rc = m == 0 ? mnist_predict_f32(images + 16, count, digits) : mnist_predict_int8(images + 16, count, digits);
        if (rc != 0) { fprintf(stderr, "mnist_predict_%s returned %d\n", names[m], rc); return 1; }
        size_t correct = 0;
        for (size_t i = 0; i < count; i++) correct += digits[i] == labels[8 + i];
        /* the book prints str(float): 0.9352 */
        printf("%s Accuracy:%g\n", names[m], (double)correct / (double)count);
    }
    free(digits); free(images); free(labels);
    return 0;
}
