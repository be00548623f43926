/* Hostile LAN beacons for t/lan-bad.sh: beacon-send MODE SECRET DEST PORT
 * COUNT [ADDRESS] sends COUNT beacons of the identity in SECRET (a file)
 * to DEST:PORT, as fast as it can, each made as MODE says:
 *   good      a well-formed, signed beacon (a new one each time)
 *   badsig    one bit of the signature flipped
 *   short     cut one byte short
 *   version   an unknown version
 *   forged    the identity's key and signature, but ADDRESS (10 hex
 *             digits) as its address: the identity does not validate
 *   replay    one good beacon, sent COUNT times 3 s apart */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include <zt/beacon.h>
#include <zt/identity.h>

static int make(const char *mode, const struct zt_identity *id, uint64_t forged, uint8_t *b, size_t cap)
{
	struct zt_identity f = *id;
	struct timespec ts;
	int64_t now;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (strcmp(mode, "forged") == 0)
		f.address = forged;   /* signed with the real key: only validation catches it */
	n = zt_beacon_encode(&f, now, b, cap);
	if (n < 0)
		return n;
	if (strcmp(mode, "badsig") == 0)
		b[n - 40] ^= 1;
	else if (strcmp(mode, "short") == 0)
		n--;
	else if (strcmp(mode, "version") == 0)
		b[20] = 99;
	return n;
}

int main(int argc, char **argv)
{
	struct zt_identity id;
	struct sockaddr_in to = { .sin_family = AF_INET };
	uint8_t b[ZT_BEACON_MAX];
	char text[ZT_ID_TEXT_MAX + 8];
	uint64_t forged = 0;
	unsigned long count;
	FILE *f;
	size_t len;
	int fd, n = 0;

	if (argc < 6 || sodium_init() < 0) {
		fprintf(stderr, "usage: beacon-send MODE SECRET DEST PORT COUNT [ADDRESS]\n");
		return 2;
	}
	f = fopen(argv[2], "r");
	len = f ? fread(text, 1, sizeof text - 1, f) : 0;
	if (f)
		fclose(f);
	text[len] = 0;
	if (zt_identity_from_text(&id, text) < 0 || inet_pton(AF_INET, argv[3], &to.sin_addr) != 1) {
		fprintf(stderr, "beacon-send: bad identity or address\n");
		return 2;
	}
	to.sin_port = htons((uint16_t)atoi(argv[4]));
	count = strtoul(argv[5], NULL, 10);
	if (argc > 6)
		forged = strtoull(argv[6], NULL, 16);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return 1;
	for (unsigned long i = 0; i < count; i++) {
		if (strcmp(argv[1], "replay") != 0 || i == 0)
			n = make(argv[1], &id, forged, b, sizeof b);
		else
			sleep(3);
		if (n < 0 || sendto(fd, b, (size_t)n, 0, (struct sockaddr *)&to, sizeof to) < 0) {
			perror("beacon-send");
			return 1;
		}
	}
	close(fd);
	return 0;
}
