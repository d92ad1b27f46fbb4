#!/usr/bin/perl
# Owns the sockets of tsunagari's DNS responder: creates and binds its UDP sockets — for each address one
# plain socket and, for IPv4/IPv6, one with UDP checksums off (SO_NO_CHECK / UDP_NO_CHECK6_TX), both
# SO_REUSEPORT on the same address:port — then execs the responder with the sockets inherited.
# Node's dgram cannot set SO_NO_CHECK; perl-base (Essential in Debian) can. Must not do anything else.
#
# usage: launch.pl [ADDRESS ...] -- PROGRAM [ARG ...]
#   ADDRESS  an IPv4 or IPv6 address, optionally with a port (10.0.0.53, 10.0.0.53:5353, [fd00::53]:53);
#            default port 53
# The program gets TSUNAGARI_SOCKETS: comma-separated `family/address/port/csum/fd` entries
# (family 4 or 6, csum `on` or `off`), e.g. `4/10.0.0.53/53/on/3,4/10.0.0.53/53/off/4`.
use strict;
use warnings;
use Socket qw(AF_INET AF_INET6 SOCK_DGRAM SOL_SOCKET IPPROTO_UDP IPPROTO_IPV6 inet_pton
              pack_sockaddr_in pack_sockaddr_in6);
use Fcntl qw(F_GETFD F_SETFD FD_CLOEXEC);

# Linux values (asm-generic and x86): not all are exported by every Socket.pm.
use constant { SO_REUSEPORT => 15, SO_NO_CHECK => 11, UDP_NO_CHECK6_TX => 101, IPV6_V6ONLY => 26 };

# Perl marks every descriptor above $^F (2 by default) close-on-exec when it opens it. Raise the
# limit so our sockets are inheritable from birth; FD_CLOEXEC is also cleared explicitly below.
$^F = 1023;

my @specs;
while (@ARGV && $ARGV[0] ne '--') { push @specs, shift @ARGV; }
shift @ARGV;
die "launch.pl: no program to run; usage: launch.pl [ADDRESS ...] -- PROGRAM [ARG ...]\n" unless @ARGV;
die "launch.pl: no address to listen on\n" unless @specs;

my (@keep, @out);
for my $spec (@specs) {
  my ($addr, $port);
  if ($spec =~ /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/) { ($addr, $port) = ($1, $2); }
  elsif ($spec =~ /^([0-9.]+)(?::(\d+))?$/) { ($addr, $port) = ($1, $2); }
  elsif ($spec =~ /^([0-9A-Fa-f:.]+)$/) { ($addr, $port) = ($1, undef); }
  else { die "launch.pl: cannot parse address $spec\n"; }
  $port //= 53;
  my $fam = $addr =~ /:/ ? 6 : 4;
  my $packed = inet_pton($fam == 6 ? AF_INET6 : AF_INET, $addr)
    or die "launch.pl: invalid IPv$fam address $addr\n";
  my $sa = $fam == 6 ? pack_sockaddr_in6($port, $packed) : pack_sockaddr_in($port, $packed);
  for my $csum ('on', 'off') {
    my $s;
    socket($s, $fam == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM, IPPROTO_UDP)
      or die "launch.pl: cannot create a UDP socket for $addr ($!)\n";
    setsockopt($s, SOL_SOCKET, SO_REUSEPORT, 1) or die "launch.pl: SO_REUSEPORT on $addr: $!\n";
    if ($fam == 6) { setsockopt($s, IPPROTO_IPV6, IPV6_V6ONLY, 1) or die "launch.pl: IPV6_V6ONLY on $addr: $!\n"; }
    if ($csum eq 'off') {
      if ($fam == 4) { setsockopt($s, SOL_SOCKET, SO_NO_CHECK, 1) or die "launch.pl: SO_NO_CHECK on $addr: $!\n"; }
      else { setsockopt($s, IPPROTO_UDP, UDP_NO_CHECK6_TX, 1) or die "launch.pl: UDP_NO_CHECK6_TX on $addr: $!\n"; }
    }
    bind($s, $sa) or die "launch.pl: cannot bind UDP $addr port $port ($!)\n";
    my $flags = fcntl($s, F_GETFD, 0) // die "launch.pl: F_GETFD: $!\n";
    fcntl($s, F_SETFD, $flags & ~FD_CLOEXEC) // die "launch.pl: F_SETFD: $!\n";
    push @keep, $s;
    push @out, join('/', $fam, $addr, $port, $csum, fileno($s));
  }
}
$ENV{TSUNAGARI_SOCKETS} = join(',', @out);
exec { $ARGV[0] } @ARGV or die "launch.pl: cannot run $ARGV[0] ($!)\n";
