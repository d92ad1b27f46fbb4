# language: ja
@ラボ:two-sites @ci
機能: VXLAN オーバーレイ (VNI 77) で 1 つの L2 セグメントを共有する 2 拠点

  シナリオ: 両拠点のホストはオーバーレイ越しに 1 つのサブネットを共有する
    ならば 到達性は次の通りである:
      | 送信元 \ 宛先 | client | a2 | server | b2 |
      | client        | -      | ✓  | ✓      | ✓  |
      | server        | ✓      | ✓  | -      | ✓  |

  シナリオ: オーバーレイが切れると拠点間は分断されるが拠点内は通じる
    もし リンク overlay を切断する
    ならば client から server に到達できない
    かつ client から a2 に到達できる
    もし リンク overlay を復旧する
    ならば client から server に 5 秒以内に到達できる
