@lab:home-nat @ci
Feature: Name resolution from a home LAN, and the zero-checksum story
  client asks through the NAT router: "dns" is an Unbound resolver, "auth" an NSD server for
  example.test, "edge" tsunagari's programmable responder for edge.test (behaviours real servers
  will not produce). A DNS reply may carry UDP checksum 0x0000 (legal in IPv4, RFC 768); a broken
  consumer NAT router "fixes" it into a wrong value and the client's kernel drops the reply.

  Scenario: The resolver answers through the authoritative server
    When client asks dns for the A record of www.example.test
    Then the DNS response code is NOERROR
    And the answer contains 198.51.100.80
    And the TTL of 198.51.100.80 is at most 300
    And the reply comes from dns

  Scenario: The authoritative server answers authoritatively, over UDP and TCP
    When client asks auth for the MX record of example.test
    Then the answer is authoritative
    And the answer is exactly:
      | name         | type | data                 |
      | example.test | MX   | 10 mail.example.test |
    When client asks auth for the MX record of example.test over TCP
    Then the answer contains "10 mail.example.test"

  Scenario: A name that does not exist
    When client asks dns for the A record of nothing.example.test
    Then the DNS response code is NXDOMAIN

  Scenario: A truncated UDP answer is fetched again over TCP
    When client asks edge for the TXT record of big.edge.test
    Then the DNS response code is NOERROR
    And the answer contains "tsunagari responder: a TXT string of sixty characters, long."

  Scenario: A reply from another address than the one asked, and why it never crosses the NAT
    When upstream asks edge for the A record of moved.edge.test
    Then the reply comes from 198.51.100.56
    # nat only maps replies from the address the query went to: this one is not translated back
    When client asks edge for the A record of moved.edge.test
    Then no reply arrives within 3 s

  Scenario: A correct NAT keeps a zero checksum as zero, and the lookup works
    Given the DNS server edge answers with UDP checksum zero
    When client asks edge for the A record of www.edge.test
    Then the DNS response code is NOERROR
    And the reply arrived with UDP checksum 0x0000

  Scenario: The broken NAT router rewrites the zero checksum and the lookup fails
    Given the DNS server edge answers with UDP checksum zero
    And the router nat rewrites zero UDP checksums wrongly
    When client asks edge for the A record of www.edge.test
    Then no reply arrives within 2 s
    And the lookup fails because of a bad UDP checksum

  Scenario: A DNS server behind a link that goes down
    When the link "upstream:eth2--dmz" goes down
    And client asks dns for the A record of www.example.test
    Then no reply arrives within 3 s
