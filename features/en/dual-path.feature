Feature: Two routers between two LANs
  Both hosts use r1 as their gateway; r2 is a second path that nobody routes through yet.

  Background:
    Given the lab "dual-path" is up

  Scenario: Both LANs reach each other through r1
    Then h1 can reach h2
    And h2 can reach h1
    And h1 can reach r2:eth3

  Scenario: r1 losing its LAN2 link breaks h1 → h2, and restoring it heals
    When the link "r1:eth2--lan2" goes down
    Then h1 cannot reach h2
    And h1 can reach r2
    When the link "r1:eth2--lan2" comes back up
    Then h1 can reach h2 within 5 s

  Scenario: A pulled cable between the routers gets its static route back when it is plugged in
    Then r1 can reach 10.255.0.2
    When the link "r1:eth3--r2:eth3" goes down
    Then r1 cannot reach 10.255.0.2
    When the link "r1:eth3--r2:eth3" comes back up
    Then r1 can reach 10.255.0.2 within 5 s
    When r1 runs "ip route"
    Then the output contains "10.255.0.2 via 10.12.0.2"


  Scenario: Links are whole again in every scenario (changes are undone after each one)
    Then h1 can reach h2
    And r1 can reach r2:eth3
