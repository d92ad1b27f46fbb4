# language: ja
@ラボ:home-nat @ci
機能: NAT ルータの内側にある家庭内ネットワーク
  client は LAN にいて、nat が upstream に向けてマスカレードする。
  upstream には LAN への経路がない: 応答が client に届くのは NAT のおかげである。

  シナリオ: client は NAT 越しにサーバのネットワークに到達できる
    ならば client から dns に到達できる
    かつ clientから203.0.113.1に到達できる
    かつ client から dns に 3 秒以内に到達できる
    # IME のまま打った全角スペースと全角数字も同じステップになる
    かつ client　から　dns　に　３秒以内に到達できる

  シナリオ: 上流からプライベート LAN には到達できない
    ならば upstream から client に到達できない
    かつ dnsから192.168.1.10に到達できない

  シナリオ: 到達性の一覧
    ならば 到達性は次の通りである:
      | 送信元 \ 宛先 | client | nat:eth1 | nat:eth2 | upstream | dns |
      | client        | -      | ○        | ○        | ○        | ○   |
      | upstream      | ×      | ×        | ○        | -        | ○   |
      | dns           | ×      | ×        | ○        | ○        | -   |

  シナリオ: Web サーバは NAT 越しに、決められたポートでだけ応答する
    ならば client から dns の 80 番ポートに接続できる
    かつ clientからdnsの81番ポートに接続できない
    かつ client から 「http://dns/」 にアクセスするとステータス 200 が返る
    かつ client から "http://198.51.100.53/missing" にアクセスするとステータス 404 が返る

  シナリオ: ルータは WAN 側でマスカレードしている
    もし nat で 「nft list ruleset」 を実行する
    ならば 出力に 「masquerade」 が含まれる

  シナリオ: WAN リンクが死ぬと client は外に出られない
    もし リンク 「nat:eth2--upstream:eth1」 で 100% のパケットを損失させる
    ならば client から dns に到達できない
    しかし client から nat に到達できる

  シナリオ: 遅い WAN リンクでも通信はできる
    もし リンク 「nat:eth2--upstream:eth1」 の帯域を 1 Mbit/s に制限する
    ならば client から dns に到達できる
    もし nat で "tc qdisc show dev eth2" を実行する
    ならば 出力に "tbf" が含まれる
