"""py-faster-rcnn's own code paths, transcribed in NumPy (rbgirshick/py-faster-rcnn @781a917), as
the independent references of the "paper-faithful" tests. Nothing here imports the project: each
function is the original's logic, line for line where it matters (dtypes, order of operations,
strict / non-strict comparisons), so a test that compares the project with it proves the project
behaves as py-faster-rcnn.

Sources: lib/rpn/generate_anchors.py, lib/fast_rcnn/bbox_transform.py, lib/nms/py_cpu_nms.py (the
GPU kernel's rule: suppress IoU > thresh), lib/rpn/proposal_layer.py, lib/fast_rcnn/test.py
(im_detect, test_net), lib/datasets/imdb.py (append_flipped_images), lib/utils/blob.py
(prep_im_for_blob), lib/datasets/pascal_voc.py (_write_voc_results_file), lib/datasets/voc_eval.py.
"""
import os

import numpy as np


# ----------------------------------------------------------------- generate_anchors.py
def _whctrs(anchor):
    w = anchor[2] - anchor[0] + 1
    h = anchor[3] - anchor[1] + 1
    x_ctr = anchor[0] + 0.5 * (w - 1)
    y_ctr = anchor[1] + 0.5 * (h - 1)
    return w, h, x_ctr, y_ctr


def _mkanchors(ws, hs, x_ctr, y_ctr):
    ws = ws[:, np.newaxis]
    hs = hs[:, np.newaxis]
    return np.hstack((x_ctr - 0.5 * (ws - 1), y_ctr - 0.5 * (hs - 1),
                      x_ctr + 0.5 * (ws - 1), y_ctr + 0.5 * (hs - 1)))


def _ratio_enum(anchor, ratios):
    w, h, x_ctr, y_ctr = _whctrs(anchor)
    size = w * h
    size_ratios = size / ratios
    ws = np.round(np.sqrt(size_ratios))
    hs = np.round(ws * ratios)
    return _mkanchors(ws, hs, x_ctr, y_ctr)


def _scale_enum(anchor, scales):
    w, h, x_ctr, y_ctr = _whctrs(anchor)
    ws = w * scales
    hs = h * scales
    return _mkanchors(ws, hs, x_ctr, y_ctr)


def generate_anchors(base_size=16, ratios=(0.5, 1, 2), scales=2 ** np.arange(3, 6)):
    base_anchor = np.array([1, 1, base_size, base_size]) - 1
    ratio_anchors = _ratio_enum(base_anchor, np.array(ratios))
    return np.vstack([_scale_enum(ratio_anchors[i, :], np.array(scales))
                      for i in range(ratio_anchors.shape[0])])


# ------------------------------------------------------------------- bbox_transform.py
def bbox_transform(ex_rois, gt_rois):
    ex_widths = ex_rois[:, 2] - ex_rois[:, 0] + 1.0
    ex_heights = ex_rois[:, 3] - ex_rois[:, 1] + 1.0
    ex_ctr_x = ex_rois[:, 0] + 0.5 * ex_widths
    ex_ctr_y = ex_rois[:, 1] + 0.5 * ex_heights
    gt_widths = gt_rois[:, 2] - gt_rois[:, 0] + 1.0
    gt_heights = gt_rois[:, 3] - gt_rois[:, 1] + 1.0
    gt_ctr_x = gt_rois[:, 0] + 0.5 * gt_widths
    gt_ctr_y = gt_rois[:, 1] + 0.5 * gt_heights
    targets_dx = (gt_ctr_x - ex_ctr_x) / ex_widths
    targets_dy = (gt_ctr_y - ex_ctr_y) / ex_heights
    targets_dw = np.log(gt_widths / ex_widths)
    targets_dh = np.log(gt_heights / ex_heights)
    return np.vstack((targets_dx, targets_dy, targets_dw, targets_dh)).transpose()


def bbox_transform_inv(boxes, deltas):
    if boxes.shape[0] == 0:
        return np.zeros((0, deltas.shape[1]), dtype=deltas.dtype)
    boxes = boxes.astype(deltas.dtype, copy=False)
    widths = boxes[:, 2] - boxes[:, 0] + 1.0
    heights = boxes[:, 3] - boxes[:, 1] + 1.0
    ctr_x = boxes[:, 0] + 0.5 * widths
    ctr_y = boxes[:, 1] + 0.5 * heights
    dx = deltas[:, 0::4]
    dy = deltas[:, 1::4]
    dw = deltas[:, 2::4]
    dh = deltas[:, 3::4]
    pred_ctr_x = dx * widths[:, np.newaxis] + ctr_x[:, np.newaxis]
    pred_ctr_y = dy * heights[:, np.newaxis] + ctr_y[:, np.newaxis]
    pred_w = np.exp(dw) * widths[:, np.newaxis]
    pred_h = np.exp(dh) * heights[:, np.newaxis]
    pred_boxes = np.zeros(deltas.shape, dtype=deltas.dtype)
    pred_boxes[:, 0::4] = pred_ctr_x - 0.5 * pred_w
    pred_boxes[:, 1::4] = pred_ctr_y - 0.5 * pred_h
    pred_boxes[:, 2::4] = pred_ctr_x + 0.5 * pred_w
    pred_boxes[:, 3::4] = pred_ctr_y + 0.5 * pred_h
    return pred_boxes


def clip_boxes(boxes, im_shape):
    boxes[:, 0::4] = np.maximum(np.minimum(boxes[:, 0::4], im_shape[1] - 1), 0)
    boxes[:, 1::4] = np.maximum(np.minimum(boxes[:, 1::4], im_shape[0] - 1), 0)
    boxes[:, 2::4] = np.maximum(np.minimum(boxes[:, 2::4], im_shape[1] - 1), 0)
    boxes[:, 3::4] = np.maximum(np.minimum(boxes[:, 3::4], im_shape[0] - 1), 0)
    return boxes


# ----------------------------------------------------------------------------- nms
def nms(dets, thresh):
    """py_cpu_nms with the GPU kernel's rule (the default, USE_GPU_NMS): IoU > thresh suppresses."""
    x1, y1, x2, y2, scores = dets[:, 0], dets[:, 1], dets[:, 2], dets[:, 3], dets[:, 4]
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = scores.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(i)
        xx1 = np.maximum(x1[i], x1[order[1:]])
        yy1 = np.maximum(y1[i], y1[order[1:]])
        xx2 = np.minimum(x2[i], x2[order[1:]])
        yy2 = np.minimum(y2[i], y2[order[1:]])
        w = np.maximum(0.0, xx2 - xx1 + 1)
        h = np.maximum(0.0, yy2 - yy1 + 1)
        inter = w * h
        ovr = inter / (areas[i] + areas[order[1:]] - inter)
        inds = np.where(ovr <= thresh)[0]
        order = order[inds + 1]
    return keep


# ------------------------------------------------------------------- proposal_layer.py
def proposal_layer(rpn_cls_prob_reshape, rpn_bbox_pred, im_info, pre_nms_topN, post_nms_topN,
                   nms_thresh, min_size, feat_stride=16, anchor_scales=(8, 16, 32)):
    """ProposalLayer.forward for one image: (proposals (n, 4), scores (n,)) in the input scale."""
    anchors_base = generate_anchors(scales=np.array(anchor_scales))
    num_anchors = anchors_base.shape[0]
    scores = rpn_cls_prob_reshape[:, num_anchors:, :, :]
    bbox_deltas = rpn_bbox_pred
    height, width = scores.shape[-2:]
    shift_x = np.arange(0, width) * feat_stride
    shift_y = np.arange(0, height) * feat_stride
    shift_x, shift_y = np.meshgrid(shift_x, shift_y)
    shifts = np.vstack((shift_x.ravel(), shift_y.ravel(), shift_x.ravel(), shift_y.ravel())).transpose()
    A = num_anchors
    K = shifts.shape[0]
    anchors = anchors_base.reshape((1, A, 4)) + shifts.reshape((1, K, 4)).transpose((1, 0, 2))
    anchors = anchors.reshape((K * A, 4))
    bbox_deltas = bbox_deltas.transpose((0, 2, 3, 1)).reshape((-1, 4))
    scores = scores.transpose((0, 2, 3, 1)).reshape((-1, 1))
    proposals = bbox_transform_inv(anchors, bbox_deltas)
    proposals = clip_boxes(proposals, im_info[:2])
    ws = proposals[:, 2] - proposals[:, 0] + 1
    hs = proposals[:, 3] - proposals[:, 1] + 1
    keep = np.where((ws >= min_size * im_info[2]) & (hs >= min_size * im_info[2]))[0]
    proposals = proposals[keep, :]
    scores = scores[keep]
    order = scores.ravel().argsort()[::-1]
    if pre_nms_topN > 0:
        order = order[:pre_nms_topN]
    proposals = proposals[order, :]
    scores = scores[order]
    keep = nms(np.hstack((proposals, scores)), nms_thresh)
    if post_nms_topN > 0:
        keep = keep[:post_nms_topN]
    return proposals[keep, :], scores[keep].ravel()


# ------------------------------------------------------------- test.py: im_detect, test_net
def im_detect_boxes(rois, im_scale, box_deltas, im_shape):
    """im_detect after the forward pass: rois (n, 4) in the scaled image; returns pred_boxes."""
    boxes = rois / im_scale
    pred_boxes = bbox_transform_inv(boxes, box_deltas)
    return clip_boxes(pred_boxes, im_shape)


def detections_of_test_net(scores, boxes, num_classes, thresh=0.05, nms_thresh=0.3, max_per_image=100):
    """test_net's per-image part: all_boxes[j] (n_j, 5) for j = 1 .. num_classes - 1."""
    all_boxes = [np.zeros((0, 5), np.float32) for _ in range(num_classes)]
    for j in range(1, num_classes):
        inds = np.where(scores[:, j] > thresh)[0]
        cls_scores = scores[inds, j]
        cls_boxes = boxes[inds, j * 4:(j + 1) * 4]
        cls_dets = np.hstack((cls_boxes, cls_scores[:, np.newaxis])).astype(np.float32, copy=False)
        keep = nms(cls_dets, nms_thresh)
        all_boxes[j] = cls_dets[keep, :]
    if max_per_image > 0:
        image_scores = np.hstack([all_boxes[j][:, -1] for j in range(1, num_classes)])
        if len(image_scores) > max_per_image:
            image_thresh = np.sort(image_scores)[-max_per_image]
            for j in range(1, num_classes):
                keep = np.where(all_boxes[j][:, -1] >= image_thresh)[0]
                all_boxes[j] = all_boxes[j][keep, :]
    return all_boxes


# ------------------------------------------------------------- imdb.py, blob.py
def flip_boxes(boxes, width):
    """append_flipped_images: x1' = W - x2 - 1, x2' = W - x1 - 1."""
    boxes = boxes.copy()
    oldx1 = boxes[:, 0].copy()
    oldx2 = boxes[:, 2].copy()
    boxes[:, 0] = width - oldx2 - 1
    boxes[:, 2] = width - oldx1 - 1
    return boxes


def im_scale(im_shape, target_size=600, max_size=1000):
    """prep_im_for_blob's scale factor."""
    im_size_min = np.min(im_shape[0:2])
    im_size_max = np.max(im_shape[0:2])
    scale = float(target_size) / float(im_size_min)
    if np.round(scale * im_size_max) > max_size:
        scale = float(max_size) / float(im_size_max)
    return scale


# ------------------------------------------------- pascal_voc.py + voc_eval.py (files)
def write_voc_results_file(path, image_index, all_boxes_of_class):
    """_write_voc_results_file for one class: all_boxes_of_class[i] (n, 5), 0-based boxes."""
    with open(path, 'wt') as f:
        for im_ind, index in enumerate(image_index):
            dets = all_boxes_of_class[im_ind]
            if len(dets) == 0:  # the original tests `dets == []`: no lines for this image
                continue
            for k in range(dets.shape[0]):
                f.write('{:s} {:.3f} {:.1f} {:.1f} {:.1f} {:.1f}\n'.format(
                    index, dets[k, -1], dets[k, 0] + 1, dets[k, 1] + 1, dets[k, 2] + 1, dets[k, 3] + 1))


def voc_ap(rec, prec, use_07_metric=False):
    if use_07_metric:
        ap = 0.
        for t in np.arange(0., 1.1, 0.1):
            if np.sum(rec >= t) == 0:
                p = 0
            else:
                p = np.max(prec[rec >= t])
            ap = ap + p / 11.
    else:
        mrec = np.concatenate(([0.], rec, [1.]))
        mpre = np.concatenate(([0.], prec, [0.]))
        for i in range(mpre.size - 1, 0, -1):
            mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
        i = np.where(mrec[1:] != mrec[:-1])[0]
        ap = np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])
    return ap


def voc_eval(detpath, recs, imagenames, classname, ovthresh=0.5, use_07_metric=False):
    """voc_eval with the annotations already parsed: recs[imagename] = list of objects
    {'name', 'difficult', 'bbox' (1-based ints)}."""
    class_recs = {}
    npos = 0
    for imagename in imagenames:
        R = [obj for obj in recs[imagename] if obj['name'] == classname]
        bbox = np.array([x['bbox'] for x in R])
        difficult = np.array([x['difficult'] for x in R]).astype(bool)
        det = [False] * len(R)
        npos = npos + sum(~difficult)
        class_recs[imagename] = {'bbox': bbox, 'difficult': difficult, 'det': det}
    with open(detpath, 'r') as f:
        lines = f.readlines()
    splitlines = [x.strip().split(' ') for x in lines]
    image_ids = [x[0] for x in splitlines]
    confidence = np.array([float(x[1]) for x in splitlines])
    BB = np.array([[float(z) for z in x[2:]] for x in splitlines])
    sorted_ind = np.argsort(-confidence)
    BB = BB[sorted_ind, :] if len(BB) else BB
    image_ids = [image_ids[x] for x in sorted_ind]
    nd = len(image_ids)
    tp = np.zeros(nd)
    fp = np.zeros(nd)
    for d in range(nd):
        R = class_recs[image_ids[d]]
        bb = BB[d, :].astype(float)
        ovmax = -np.inf
        BBGT = R['bbox'].astype(float)
        if BBGT.size > 0:
            ixmin = np.maximum(BBGT[:, 0], bb[0])
            iymin = np.maximum(BBGT[:, 1], bb[1])
            ixmax = np.minimum(BBGT[:, 2], bb[2])
            iymax = np.minimum(BBGT[:, 3], bb[3])
            iw = np.maximum(ixmax - ixmin + 1., 0.)
            ih = np.maximum(iymax - iymin + 1., 0.)
            inters = iw * ih
            uni = ((bb[2] - bb[0] + 1.) * (bb[3] - bb[1] + 1.) +
                   (BBGT[:, 2] - BBGT[:, 0] + 1.) * (BBGT[:, 3] - BBGT[:, 1] + 1.) - inters)
            overlaps = inters / uni
            ovmax = np.max(overlaps)
            jmax = np.argmax(overlaps)
        if ovmax > ovthresh:
            if not R['difficult'][jmax]:
                if not R['det'][jmax]:
                    tp[d] = 1.
                    R['det'][jmax] = 1
                else:
                    fp[d] = 1.
        else:
            fp[d] = 1.
    fp = np.cumsum(fp)
    tp = np.cumsum(tp)
    with np.errstate(divide='ignore', invalid='ignore'):
        rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return rec, prec, voc_ap(rec, prec, use_07_metric)


def voc_eval_all(tmpdir, image_index, all_boxes, recs, classes, use_07_metric=True):
    """pascal_voc._do_python_eval: writes one results file per class, evaluates each; returns the
    per-class APs. all_boxes[cls_ind][im_ind] as test_net's, classes[0] = '__background__'."""
    aps = []
    for cls_ind, cls in enumerate(classes):
        if cls == '__background__':
            continue
        path = os.path.join(str(tmpdir), f'comp4_det_test_{cls}.txt')
        write_voc_results_file(path, image_index, all_boxes[cls_ind])
        aps.append(voc_eval(path, recs, image_index, cls, 0.5, use_07_metric)[2])
    return aps
