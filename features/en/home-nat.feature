@lab:home-nat @ci
Feature: Home network behind a NAT router
  The client sits on a LAN behind "nat", which masquerades towards "upstream".
  Upstream has no route back to the LAN: replies reach the client only through NAT.

  Scenario: The client reaches the server network through NAT
    Then client can reach dns
    And client can reach 203.0.113.1
    And client can reach dns within 3 s

  Scenario: Nobody upstream can reach the private LAN
    Then upstream cannot reach client
    And dns cannot reach 192.168.1.10

  Scenario: Who reaches whom
    Then the reachability is:
      | from \ to | client | nat:eth1 | nat:eth2 | upstream | dns |
      | client    | -      | ok       | ok       | ok       | ok  |
      | upstream  | ng     | ng       | ok       | -        | ok  |
      | dns       | ng     | ng       | ok       | ok       | -   |

  Scenario: The web server answers through NAT, and only on its port
    Then client can connect to dns port 80
    And client cannot connect to dns port 81
    And client gets status 200 from "http://dns/"
    And client gets status 404 from "http://198.51.100.53/missing"

  Scenario: The router masquerades on its WAN side
    When nat runs "nft list ruleset"
    Then the output contains "masquerade"

  Scenario: A dead WAN link cuts the client off
    When the link "nat:eth2--upstream:eth1" loses 100% of packets
    Then client cannot reach dns
    But client can reach nat

  Scenario: A slow WAN link still carries traffic
    When the link "nat:eth2--upstream:eth1" is limited to 1 Mbit/s
    Then client can reach dns
    When nat runs "tc qdisc show dev eth2"
    Then the output contains "tbf"
