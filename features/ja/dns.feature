# language: ja
@ラボ:home-nat @ci
機能: 家庭内 LAN からの名前解決と、チェックサム 0 の話
  client は NAT ルータ越しに問い合わせる。dns は Unbound のリゾルバ、auth は example.test の NSD、
  edge は edge.test を返す tsunagari の応答サーバ (本物のサーバはしない振る舞いをする)。
  DNS 応答の UDP チェックサムは 0x0000 でもよい (IPv4 では合法、RFC 768)。壊れた家庭用 NAT ルータは
  それを誤った値に「直し」、client のカーネルは応答を捨てる。

  シナリオ: リゾルバは権威サーバをたどって答える
    もし client が dns に www.example.test の A レコードを問い合わせる
    ならば DNS 応答コードは NOERROR である
    かつ 応答に 198.51.100.80 が含まれる
    かつ 198.51.100.80 の TTL は 300 以下である
    かつ 応答の送信元は dns である

  シナリオ: 権威サーバは UDP でも TCP でも権威応答を返す
    もし client が auth に example.test の MX レコードを問い合わせる
    ならば 応答は権威応答である
    かつ 応答は次の通りである:
      | 名前         | タイプ | 値                   |
      | example.test | MX     | 10 mail.example.test |
    もし clientがauthにTCPでexample.testのMXレコードを問い合わせる
    ならば 応答に 「10 mail.example.test」 が含まれる

  シナリオ: 存在しない名前
    もし client が dns に nothing.example.test の A レコードを問い合わせる
    ならば DNS 応答コードは NXDOMAIN である

  シナリオ: 切り詰められた UDP 応答は TCP で取り直す
    もし client が edge に big.edge.test の TXT レコードを問い合わせる
    ならば DNS 応答コードは NOERROR である
    かつ 応答に 「tsunagari responder: a TXT string of sixty characters, long.」 が含まれる

  シナリオ: 問い合わせ先と違うアドレスから応答が来る、そしてそれは NAT を越えない
    もし upstream が edge に moved.edge.test の A レコードを問い合わせる
    ならば 応答の送信元は 198.51.100.56 である
    # nat は問い合わせ先からの応答しか変換しないので、この応答は client に戻らない
    もし client が edge に moved.edge.test の A レコードを問い合わせる
    ならば 3 秒以内に応答が届かない

  シナリオ: 正しい NAT はチェックサム 0 を 0 のまま通し、名前解決できる
    前提 DNS サーバ "edge" は UDP チェックサム 0 で応答する
    もし "client" が "198.51.100.55" に "www.edge.test" の A レコードを問い合わせる
    ならば DNS 応答コードは NOERROR である
    かつ 応答の UDP チェックサムは 0x0000 である

  シナリオ: 壊れた NAT ルータがチェックサム 0 を書き換え、名前解決に失敗する
    前提 DNS サーバ 「edge」 は UDP チェックサム 0 で応答する
    かつ ルータ nat はチェックサム 0 の UDP を誤った値に書き換える
    もし client が edge に www.edge.test の A レコードを問い合わせる
    ならば 2 秒以内に応答が届かない
    かつ UDP チェックサム不正により名前解決に失敗する

  シナリオ: リンク断の向こうにある DNS サーバ
    もし リンク "upstream:eth2--dmz" を切断する
    かつ client が dns に www.example.test の A レコードを問い合わせる
    ならば 3秒以内に応答が届かない
